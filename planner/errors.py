"""User-facing errors. Each kind carries the exit code of SPEC section 9."""

from __future__ import annotations


class PlannerError(Exception):
    """Base of every error the CLI turns into a one-paragraph message."""

    exit_code = 1


class InputError(PlannerError):
    """Bad input: an invalid file, an unknown id, a bad option (exit 2)."""

    exit_code = 2

    def __init__(self, message: str, problems: list[str] | None = None):
        self.problems = problems or [message]
        super().__init__(message)


class InfeasibleError(PlannerError):
    """No deployment fits or no plan meets demand (exit 3)."""

    exit_code = 3


class SolverError(PlannerError):
    """The solver failed or stopped without a solution (exit 4)."""

    exit_code = 4
