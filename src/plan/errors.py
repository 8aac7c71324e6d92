"""Why an operation is not planned: it then runs on Strawberry's executor."""


class Unplanned(Exception):
    """This operation (or one of its fields or arguments) is left to the generic path, which
    answers it, errors included, exactly as it always has."""
