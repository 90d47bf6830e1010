"""The worker's tasks by name: what the API and the sweeps queue, and the queue each goes to."""

from enum import StrEnum


class Task(StrEnum):
    """A function of `worker.tasks`, queued by this name."""

    validate_dataset = "validate_dataset"
    requeue_overdue_validations = "requeue_overdue_validations"
    launch_job = "launch_job"
    sync_job = "sync_job"
    sync_jobs = "sync_jobs"
    control_job = "control_job"
    sync_due_jobs = "sync_due_jobs"
    reconcile_jobs = "reconcile_jobs"
    deliver_webhook = "deliver_webhook"
    requeue_overdue_deliveries = "requeue_overdue_deliveries"
    run_evaluation = "run_evaluation"
    requeue_overdue_evaluations = "requeue_overdue_evaluations"
    delete_expired_provider_files = "delete_expired_provider_files"
    advance_pipeline = "advance_pipeline"
    requeue_overdue_pipelines = "requeue_overdue_pipelines"
    remove_partial_uploads = "remove_partial_uploads"


QUEUE_NAME = "ftm"  # launches, syncs, controls, webhooks, sweeps: small and urgent
# Workers take from the first non-empty queue in this order: bulk work never holds up a launch.
QUEUE_NAMES = (QUEUE_NAME, "ftm-validation", "ftm-evaluation")
TASK_QUEUES = {Task.validate_dataset: "ftm-validation", Task.run_evaluation: "ftm-evaluation"}
