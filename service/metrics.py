"""Prometheus series counted where the work happens (API or worker process); labels stay bounded:
routes, outcomes and task names, never ids."""

from prometheus_client import Counter, Histogram

PROVIDER_REQUESTS = Counter("ftm_provider_requests_total",
                            "Provider (OpenAI) requests, one per attempt", ["route", "outcome"])
PROVIDER_SECONDS = Histogram("ftm_provider_request_duration_seconds",
                             "Provider request duration, one per attempt", ["route"])
PROVIDER_RETRIES = Counter("ftm_provider_retries_total",
                           "Provider requests retried after a transient error", ["route"])
RATE_LIMIT_WAITS = Counter("ftm_provider_rate_limit_waits_total",
                           "Times a provider request waited for the shared request-rate cap")
RATE_LIMIT_WAIT_SECONDS = Counter("ftm_provider_rate_limit_wait_seconds_total",
                                  "Seconds provider requests waited for the request-rate cap")
SYNC_LAG = Histogram("ftm_job_sync_lag_seconds", "How late a job's sync was claimed after it "
                     "fell due", buckets=(0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900))
WEBHOOK_DELIVERIES = Counter("ftm_webhook_deliveries_total",
                             "Webhook delivery attempts by outcome "
                             "(delivered, retrying, failed, abandoned)", ["outcome"])
TASKS = Counter("ftm_worker_tasks_total", "Worker tasks run, by task and outcome",
                ["task", "outcome"])
TASK_SECONDS = Histogram("ftm_worker_task_duration_seconds", "Worker task run time", ["task"],
                         buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800))
TASK_WAIT = Histogram("ftm_worker_task_queue_wait_seconds",
                      "Time a task waited in the queue before a worker started it", ["task"],
                      buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900))
