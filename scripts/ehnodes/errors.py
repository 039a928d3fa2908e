"""The one error the launcher raises on purpose."""


class NodeError(Exception):
    """Something the user can act on, said in one sentence (the CLI prints it without a trace).

    A failed start appends the end of the node's log after that sentence.
    """
