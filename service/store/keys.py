"""Every Redis key the service uses, built here and nowhere else: ftm:<kind>:<id>[:<part>]."""

PREFIX = "ftm"


def record(kind: str, record_id: str) -> str:
    return f"{PREFIX}:{kind}:{record_id}"


def record_part(kind: str, record_id: str, part: str) -> str:
    return f"{PREFIX}:{kind}:{record_id}:{part}"


def project_index(kind: str, project_id: str) -> str:
    """Sorted set of a project's records of one kind, scored by creation time."""
    return f"{PREFIX}:{kind}:by_project:{project_id}"


def all_index(kind: str) -> str:
    return f"{PREFIX}:{kind}:all"


def api_key_hash(key_hash: str) -> str:
    return f"{PREFIX}:key_hash:{key_hash}"


def idempotency(scope: str, key: str) -> str:
    return f"{PREFIX}:idem:{scope}:{key}"


def auth_failures(address: str) -> str:
    """Count of wrong credentials from a client address in the current window."""
    return f"ftm:auth_failures:{address}"


def bucket(name: str) -> str:
    return f"{PREFIX}:bucket:{name}"


def bucket_grants(name: str, second: str) -> str:
    """Tokens a bucket gave out in one second of its own clock."""
    return f"{PREFIX}:bucket:{name}:granted:{second}"


def lock(name: str, resource_id: str) -> str:
    return f"{PREFIX}:lock:{name}:{resource_id}"


def setting(name: str) -> str:
    return f"{PREFIX}:setting:{name}"


def jobs_due() -> str:
    """Active jobs by the time their next sync is due."""
    return f"{PREFIX}:jobs:due"


def jobs_waiting_capacity() -> str:
    """Jobs the provider refused for capacity, by creation time: launched in that order."""
    return f"{PREFIX}:jobs:waiting_capacity"


def job_by_provider(provider_job_id: str) -> str:
    return f"{PREFIX}:job:by_provider:{provider_job_id}"


def job_result_metrics(job_id: str) -> str:
    """The provider's step metrics of a finished job (JSON list of rows)."""
    return record_part("job", job_id, "result_metrics")


def job_checkpoints(job_id: str) -> str:
    """The job's checkpoints as last mirrored from the provider (JSON list)."""
    return record_part("job", job_id, "checkpoints")


def fault_fired(point: str) -> str:
    return f"{PREFIX}:fault:{point}"


def webhook_secret(webhook_id: str) -> str:
    """A webhook endpoint's signing secret (kept apart so the record stays the response)."""
    return f"{PREFIX}:webhook:{webhook_id}:secret"


def project_webhook_secret(project_id: str) -> str:
    """The signing secret for deliveries to jobs' own webhook_url."""
    return f"{PREFIX}:project:{project_id}:webhook_secret"


def webhook_deliveries(webhook_id: str) -> str:
    """Sorted set of a webhook endpoint's deliveries, scored by creation time."""
    return f"{PREFIX}:webhook:{webhook_id}:deliveries"


def delivery_payload(delivery_id: str) -> str:
    return f"{PREFIX}:delivery:{delivery_id}:payload"


def webhook_receiver_rest(origin: str) -> str:
    """Set while a receiver that timed out rests: until when (Unix seconds), expiring then."""
    return f"{PREFIX}:webhook-receiver:{origin}:rest"


def deliveries_pending() -> str:
    """Pending deliveries by the time their next attempt is due."""
    return f"{PREFIX}:deliveries:pending"


def jobs_by_status() -> str:
    """Hash status → number of jobs in it, kept in the transactions that move jobs."""
    return f"{PREFIX}:jobs:by_status"


def jobs_finished() -> str:
    """Finished jobs by finish time, until their provider files are cleaned up."""
    return f"{PREFIX}:jobs:finished"


def evaluations_due() -> str:
    """Evaluations not yet ended, by the time their queued run is overdue (lost with a worker)."""
    return f"{PREFIX}:evaluations:due"


def evaluation_predictions(evaluation_id: str) -> str:
    """Hash of an evaluation's answers: field "<model>:<index>" → prediction JSON."""
    return f"{PREFIX}:evaluation:{evaluation_id}:predictions"


def evaluation_inputs(evaluation_id: str) -> str:
    """Hash of the prompts an evaluation sends: field "<index>" → JSON list of messages."""
    return f"{PREFIX}:evaluation:{evaluation_id}:inputs"


def evaluation_labels(evaluation_id: str) -> str:
    """The evaluation's labels (JSON list), fixed when its run starts."""
    return f"{PREFIX}:evaluation:{evaluation_id}:labels"


def evaluation_cancel(evaluation_id: str) -> str:
    """Set when a client cancels the evaluation; the running task stops when it sees it."""
    return f"{PREFIX}:evaluation:{evaluation_id}:cancel"


def pipelines_due() -> str:
    """Pipelines not yet ended, by the time their next advance is overdue (lost with a worker)."""
    return f"{PREFIX}:pipelines:due"


def usage(project_id: str, model: str) -> str:
    """A project's playground use of one model: requests, tokens, estimated cost."""
    return f"{PREFIX}:usage:{project_id}:{model}"


def datasets_due() -> str:
    """Datasets still processing, by the time their queued validation is overdue (lost)."""
    return f"{PREFIX}:datasets:due"


def datasets_awaiting(project_id: str) -> str:
    """A project's datasets awaiting validation, by creation time (its backlog)."""
    return f"{PREFIX}:project:{project_id}:datasets_awaiting"


def dataset_report(dataset_id: str, model: str) -> str:
    """A dataset's validation report for one model (JSON), kept once computed."""
    return record_part("dataset", dataset_id, f"report:{model}")
