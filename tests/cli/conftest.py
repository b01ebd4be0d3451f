import pytest


@pytest.fixture(autouse=True)
def log_in_tmp(tmp_path, monkeypatch):
    """What the command line logs (bugs, libraries' warnings) goes to the test's folder."""
    monkeypatch.setenv("FCN_STUDIO_LOG_DIR", str(tmp_path / "logs"))
    monkeypatch.delenv("FCN_STUDIO_DEBUG", raising=False)
