"""Security commands: audit-wheel, validate-dist, validate-dist-all and check-registry."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pyregistry_bootstrap.commands.common import config_option, emit_json, load, runtime

if TYPE_CHECKING:
    from pyregistry_application.security.findings import WheelScanReport
    from pyregistry_application.security.services import SecurityServices
    from pyregistry_application.security.validation import DistributionValidation, ValidationSummary
    from pyregistry_application.security.vulnerability_model import VulnerabilityCheckResult
    from pyregistry_infrastructure.settings import Settings

__all__ = ["check_registry", "scan_wheel", "validate_dist", "validate_dist_all"]

FINDINGS_EXIT = 2
SCANNER_ERRORS_EXIT = 3


def _settings(ctx: click.Context, config_path: str | None) -> Settings:
    from pyregistry_infrastructure.logging_setup import configure_logging

    settings = load(ctx, config_path).settings
    configure_logging(settings.logging)
    return settings


def _security(ctx: click.Context, config_path: str | None) -> SecurityServices:
    from pyregistry_bootstrap.security_wiring import build_security

    registry = runtime(ctx, config_path, sync_superadmin=False)
    return build_security(registry.settings, registry.services, registry.upstream, registry.job_executor)


def _print_report(report: WheelScanReport) -> None:
    click.echo(f"{report.filename} ({report.project}) sha256 {report.sha256}")
    click.echo(f"scanners: {', '.join(report.scanners)}")
    if not report.findings:
        click.echo("no findings")
    for finding in report.findings:
        where = finding.file + (f":{finding.line}" if finding.line else "")
        where += f" @{finding.offset}" if finding.offset is not None else ""
        click.echo(f"[{finding.severity.value.upper():8}] {finding.rule_id} {where}: {finding.message}")
        if finding.evidence:
            click.echo(f"           evidence: {finding.evidence[:160]!r}")


@click.command("audit-wheel")
@config_option
@click.option("--project", required=True, help="Project the wheel belongs to.")
@click.option("--wheel", "wheel", required=True, help="Wheel file; downloaded from [pypi].base_url when not local.")
@click.option("--yara-rules-path", default=None, help="YARA rules directory (wins over the configuration).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--allow-scanner-errors", is_flag=True, help="Exit 0 even when a scanner could not run (the audit is incomplete)."
)
@click.pass_context
def scan_wheel(
    ctx: click.Context,
    config_path: str | None,
    project: str,
    wheel: str,
    yara_rules_path: str | None,
    as_json: bool,
    allow_scanner_errors: bool,
) -> None:
    """Scan a wheel; exit 2 when findings reach security.audit_fail_severity, 3 when a scanner failed."""
    from pyregistry_bootstrap.security_wiring import yara_scanner_for

    security = _security(ctx, config_path)
    overrides = [yara_scanner_for(yara_rules_path)] if yara_rules_path else []
    path = Path(wheel)
    if path.is_file():
        report = security.wheel_scan.scan_file(project, path, overrides)
    else:
        report = security.wheel_scan.scan_upstream(project, path.name, overrides)
    if as_json:
        emit_json(report)
    else:
        _print_report(report)
    for scanner, error in sorted(report.scanner_errors.items()):
        click.echo(f"scanner {scanner} failed, the audit is incomplete: {error}", err=True)
    if report.reaches(security.scan_fail_severity):
        if not as_json:
            click.echo(f"findings at or above {security.scan_fail_severity.value}", err=True)
        sys.exit(FINDINGS_EXIT)
    if report.scanner_errors and not allow_scanner_errors:
        failed = ", ".join(sorted(report.scanner_errors))
        noun = "scanners" if len(report.scanner_errors) > 1 else "scanner"
        hint = "pass --allow-scanner-errors to accept an incomplete audit"
        click.echo(f"error: {noun} {failed} failed; {hint}", err=True)
        sys.exit(SCANNER_ERRORS_EXIT)


def _print_validation(result: DistributionValidation) -> None:
    line = f"{result.status.value.upper():17} {result.file}"
    if result.tenant:
        line += f" (tenant {result.tenant}, project {result.project})"
    if result.detail:
        line += f": {result.detail}"
    click.echo(line)


@click.command("validate-dist")
@config_option
@click.option("--file", "file", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--sha256", default=None, help="Expected SHA-256 hex digest.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def validate_dist(ctx: click.Context, config_path: str | None, file: Path, sha256: str | None, as_json: bool) -> None:
    """Check a distribution's SHA-256 and read it fully; exit 1 when it is refused."""
    from pyregistry_application.security.validation import validate_local_file
    from pyregistry_infrastructure.archives import ArchiveInspector

    _settings(ctx, config_path)
    result = validate_local_file(ArchiveInspector(), file, sha256)
    if as_json:
        emit_json(result)
    else:
        _print_validation(result)
        if result.ok:
            click.echo(f"sha256 {result.sha256}, {result.members} members")
    if not result.ok:
        sys.exit(1)


@click.command("validate-dist-all")
@config_option
@click.option("--tenant", default=None, help="Only this tenant.")
@click.option("--project", default=None, help="Only this project.")
@click.option("--parallelism", type=click.IntRange(1, 64), default=None, help="Workers (default: configuration).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def validate_dist_all(
    ctx: click.Context,
    config_path: str | None,
    tenant: str | None,
    project: str | None,
    parallelism: int | None,
    as_json: bool,
) -> None:
    """Validate every stored distribution in parallel; exit 1 when any is missing, altered or corrupt."""
    security = _security(ctx, config_path)
    files = security.validation.stored_files(tenant, project)
    workers = parallelism or security.distribution_parallelism
    summary: ValidationSummary
    if as_json:
        summary = security.validation.validate_all(files, workers)
        emit_json(summary)
    else:
        with click.progressbar(length=len(files), label="validating", file=sys.stderr) as bar:
            summary = security.validation.validate_all(files, workers, on_result=lambda _: bar.update(1))
        for problem in summary.problems:
            _print_validation(problem)
        counts = ", ".join(f"{count} {status}" for status, count in summary.counts.items() if count)
        click.echo(f"checked {summary.checked} files: {counts or 'nothing stored'}")
    if summary.problems:
        sys.exit(1)


def _print_vulnerabilities(result: VulnerabilityCheckResult) -> None:
    for item in result.vulnerabilities:
        click.echo(f"{item.tenant_slug}/{item.project} {item.version}: {item.advisory_id} ({item.remedy})")
    for match in result.malware:
        click.echo(
            f"{match.tenant_slug}/{match.project} {match.version} ({match.origin}): known malware {match.advisory_id}"
        )
    click.echo(
        f"checked {result.checked} versions with {result.source}: {len(result.vulnerabilities)} vulnerabilities, "
        f"{len(result.malware)} known-malware versions"
    )


@click.command("check-registry")
@config_option
@click.option("--tenant", default=None, help="Only this tenant.")
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--engine",
    type=click.Choice(["pysentry", "local"]),
    default="pysentry",
    show_default=True,
    help="pysentry (against the local advisory DB when configured, else online), or the built-in matcher.",
)
@click.pass_context
def check_registry(ctx: click.Context, config_path: str | None, tenant: str | None, as_json: bool, engine: str) -> None:
    """Check stored versions for known vulnerabilities and cached or stored known malware; exit 2 when any is found."""
    from pyregistry_bootstrap.osv_server import serve_osv
    from pyregistry_bootstrap.security_wiring import build_security
    from pyregistry_infrastructure.vulnerabilities.pysentry_checker import PysentryChecker

    registry = runtime(ctx, config_path, sync_superadmin=False)
    settings = registry.settings
    security = build_security(settings, registry.services, registry.upstream, registry.job_executor)
    if engine == "local":
        if not settings.security.advisory_db_path:
            raise click.UsageError("--engine local needs [security].advisory_db_path (ADVISORY_DB_PATH)")
        result = security.check_registry.execute(security.local_checker, tenant)
    elif settings.security.advisory_db_path:
        with serve_osv(security) as service_url:
            result = security.check_registry.execute(PysentryChecker(service_url), tenant)
    else:
        result = security.check_registry.execute(PysentryChecker(), tenant)
    if as_json:
        emit_json(result)
    else:
        _print_vulnerabilities(result)
    if result.vulnerabilities or result.malware:
        sys.exit(FINDINGS_EXIT)
