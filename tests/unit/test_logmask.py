"""Secret values never reach the log file, whatever path they take into a log line."""

from __future__ import annotations

import logging
from pathlib import Path

from hastack.catalog.secret_text import SecretRef
from hastack.logmask import MASK, SecretFilter
from hastack.secrets import ensure_secrets


def test_values_of_the_secrets_file_are_masked_in_log_lines(tmp_path: Path) -> None:
    store = ensure_secrets(tmp_path / "site.secrets.yaml", [SecretRef("db-root")])
    value = store.values["db-root"]
    log_file = tmp_path / "hastack.log"
    handler = logging.FileHandler(log_file)
    handler.addFilter(SecretFilter())
    logger = logging.getLogger("hastack.test-mask")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("stderr: access denied for password %s", value)
        logger.info(f"inline {value} too")
    finally:
        logger.removeHandler(handler)
        handler.close()
    text = log_file.read_text()
    assert value not in text
    assert text.count(MASK) == 2
