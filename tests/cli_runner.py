"""Run the ``warprec`` console entry point in-process, as a user would."""

from __future__ import annotations

import pytest
from warprec.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``warprec ARGS``: its exit status, stdout and stderr."""
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out = capsys.readouterr()
    return exit_info.value.code or 0, out.out, out.err
