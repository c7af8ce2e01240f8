"""Package security use cases: wheel audit, distribution validation, vulnerabilities and notifications."""
