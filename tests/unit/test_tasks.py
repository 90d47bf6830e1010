import inspect

import worker.tasks
from service.tasks import TASK_QUEUES, Task


def test_every_task_name_is_a_worker_task() -> None:
    functions = {name for name, value in inspect.getmembers(worker.tasks, inspect.isfunction)
                 if value.__module__ == "worker.tasks"}
    missing = {task.value for task in Task} - functions
    assert not missing


def test_every_worker_task_has_a_name() -> None:
    functions = {name for name, value in inspect.getmembers(worker.tasks, inspect.isfunction)
                 if value.__module__ == "worker.tasks"}
    unnamed = functions - {task.value for task in Task}
    assert not unnamed


def test_task_queues_name_tasks() -> None:
    assert set(TASK_QUEUES) <= set(Task)
