"""The release policy's pure rules: durations, the cooldown decision, overrides and advisory severities."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyregistry_application.security.advisory_severity import UNRATED, advisory_severity, cvss3_base_score
from pyregistry_bootstrap.policy_wiring import release_policy_defaults
from pyregistry_domain.errors import ValidationFailed
from pyregistry_domain.release_policy import (
    CooldownHold,
    PolicyOverride,
    ReleaseApproval,
    ReleasePolicy,
    UnknownUploadTime,
    VulnerabilityAction,
    cooldown_hold,
    format_duration,
    parse_duration,
)
from pyregistry_infrastructure.config import ConfigError, load_settings

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
seconds = st.integers(min_value=0, max_value=3650 * 86400)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", timedelta(0)),
        ("7d", timedelta(days=7)),
        ("36h", timedelta(hours=36)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("2w", timedelta(weeks=2)),
        (" 90m ", timedelta(minutes=90)),
        ("1D", timedelta(days=1)),
        ("30s", timedelta(seconds=30)),
    ],
)
def test_durations_read_as_the_configuration_writes_them(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "7", "d", "7days", "-1d", "1h1d", "1d1d", "1.5d", "7d x", "99999999d"])
def test_malformed_durations_are_refused_with_the_accepted_shape(text: str) -> None:
    with pytest.raises(ValidationFailed, match="duration"):
        parse_duration(text)


@given(seconds)
def test_a_formatted_duration_reads_back_to_itself(total: int) -> None:
    value = timedelta(seconds=total)
    assert parse_duration(format_duration(value)) == value


@given(seconds.filter(lambda n: n > 0), st.integers(min_value=-10 * 86400, max_value=10 * 86400))
def test_a_known_upload_time_is_held_exactly_until_it_is_old_enough(age: int, offset: int) -> None:
    policy = ReleasePolicy(min_release_age=timedelta(seconds=age))
    uploaded = NOW - timedelta(seconds=offset)
    hold = cooldown_hold(policy, uploaded, NOW)
    if uploaded + policy.min_release_age > NOW:
        assert hold == CooldownHold(policy.min_release_age, uploaded + policy.min_release_age)
    else:
        assert hold is None


@given(st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))))
def test_no_cooldown_holds_nothing(uploaded: datetime | None) -> None:
    assert cooldown_hold(ReleasePolicy(), uploaded, NOW) is None


def test_an_unknown_upload_time_is_held_unless_the_policy_allows_it() -> None:
    held = ReleasePolicy(min_release_age=timedelta(days=7))
    allowed = ReleasePolicy(min_release_age=timedelta(days=7), unknown_upload_time=UnknownUploadTime.ALLOW)
    hold = cooldown_hold(held, None, NOW)
    assert hold is not None and hold.clears_at is None
    assert "the upstream gave no upload time" in hold.message("x-1.0.tar.gz")
    assert cooldown_hold(allowed, None, NOW) is None


def test_the_refusal_names_the_policy_and_the_utc_time_it_clears() -> None:
    hold = cooldown_hold(ReleasePolicy(min_release_age=timedelta(days=7)), NOW - timedelta(days=1), NOW)
    assert hold is not None
    assert hold.message("tool-2.0-py3-none-any.whl") == (
        "tool-2.0-py3-none-any.whl is held by the tenant's release cooldown policy (min_release_age = 7d) "
        "until 2026-06-07T12:00:00Z (UTC); an admin can approve it early"
    )


def test_overrides_are_validated_spelled_canonically_and_applied_over_the_defaults() -> None:
    override = PolicyOverride(min_release_age="36h", block_severity="HIGH", vulnerability_action="Hide")
    assert override.validated() == PolicyOverride(
        min_release_age="1d12h", block_severity="high", vulnerability_action="hide"
    )
    applied = override.applied_to(ReleasePolicy(vulnerability_severity="critical"))
    assert applied == ReleasePolicy(
        min_release_age=timedelta(hours=36),
        block_severity="high",
        vulnerability_action=VulnerabilityAction.HIDE,
        vulnerability_severity="critical",
    )
    merged = override.validated().merged(PolicyOverride(unknown_upload_time="allow"), frozenset({"block_severity"}))
    assert merged.as_dict() == {
        "min_release_age": "1d12h",
        "unknown_upload_time": "allow",
        "vulnerability_action": "hide",
    }


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (PolicyOverride(block_severity="severe"), "unknown severity 'severe'"),
        (PolicyOverride(unknown_upload_time="maybe"), "invalid unknown upload time rule 'maybe'"),
        (PolicyOverride(vulnerability_action="delete"), "invalid vulnerability action 'delete'"),
        (PolicyOverride(min_release_age="soon"), "invalid duration 'soon'"),
    ],
)
def test_invalid_overrides_name_the_value_and_the_choices(override: PolicyOverride, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        override.validated()


def test_an_approval_covers_its_version_or_every_version_of_its_project() -> None:
    whole = ReleaseApproval("a1", "t", "tool", None, "urgent fix", "admin", NOW)
    one = ReleaseApproval("a2", "t", "tool", "2.0", "urgent fix", "admin", NOW)
    assert whole.covers("tool", "9.9") and one.covers("tool", "2.0")
    assert not one.covers("tool", "2.1") and not whole.covers("other", "2.0")


@pytest.mark.parametrize(
    ("vector", "score"),
    [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
        ("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 5.5),
        ("CVSS:3.1/AV:N/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", 0.0),
        ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9),
    ],
)
def test_cvss3_base_scores_match_the_specification_calculator(vector: str, score: float) -> None:
    assert cvss3_base_score(vector) == score


def test_advisory_severity_prefers_the_database_rating_then_cvss_and_counts_unrated_as_critical() -> None:
    assert advisory_severity({"database_specific": {"severity": "MODERATE"}}) == "medium"
    assert advisory_severity({"affected": [{"ecosystem_specific": {"severity": "LOW"}}]}) == "low"
    vector = {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N"}
    assert advisory_severity({"severity": [vector]}) == "medium"
    assert advisory_severity({"severity": [{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N"}]}) == UNRATED
    assert advisory_severity({}) == UNRATED == "critical"
    assert cvss3_base_score("CVSS:3.1/AV:X/AC:L") is None


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"POLICY_MIN_RELEASE_AGE": "a week"}, "policy.min_release_age"),
        ({"POLICY_COOLDOWN_UNKNOWN_UPLOAD_TIME": "maybe"}, "policy.cooldown_unknown_upload_time"),
        ({"MIRROR_BLOCK_SEVERITY": "severe"}, "security.mirror_block_severity"),
        ({"POLICY_VULNERABILITY_ACTION": "delete"}, "policy.vulnerability_action"),
        ({"POLICY_VULNERABILITY_SEVERITY": "bad"}, "policy.vulnerability_severity"),
    ],
)
def test_a_bad_policy_default_is_a_configuration_error_naming_its_key(env: dict[str, str], key: str) -> None:
    settings = load_settings(None, env).settings
    with pytest.raises(ConfigError, match=f"key '{key}'"):
        release_policy_defaults(settings)


def test_the_policy_defaults_come_from_the_configuration() -> None:
    env = {"POLICY_MIN_RELEASE_AGE": "36h", "POLICY_VULNERABILITY_ACTION": "mark", "MIRROR_BLOCK_SEVERITY": "high"}
    assert release_policy_defaults(load_settings(None, env).settings) == ReleasePolicy(
        min_release_age=timedelta(hours=36), block_severity="high", vulnerability_action=VulnerabilityAction.MARK
    )
    assert release_policy_defaults(load_settings(None, {}).settings) == ReleasePolicy()
