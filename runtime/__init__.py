"""The workflow engine, the runtime tree, jobs, schedules and the CLI."""

__all__: list[str] = []
