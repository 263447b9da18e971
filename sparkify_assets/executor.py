"""The executor: in-process by default (measured fastest for this graph), multiprocess when a run asks for it.

Dagster's `multi_or_in_process_executor` with its default flipped. A run selects the other mode through run config:

    execution:
      config:
        multiprocess:
          max_concurrent: 2

Steps then run in separate processes; the DuckDB resource waits for the file lock (one writer at a time).
"""

from __future__ import annotations

from dagster import ExecutorDefinition, Field, multi_or_in_process_executor

in_process_or_multiprocess_executor = ExecutorDefinition(
    name="in_process_or_multiprocess",
    config_schema=Field(multi_or_in_process_executor.config_schema.config_type, default_value={"in_process": {}}),
    executor_creation_fn=multi_or_in_process_executor.executor_creation_fn,
    requirements=multi_or_in_process_executor.get_requirements,
    description="In-process by default; `execution: {config: {multiprocess: {}}}` runs each step in its own process.",
)
