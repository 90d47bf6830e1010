"""What tests share, in one place: a test module imports from here (or from tests/factories.py
and tests/datagen.py, which build data through the API), never from another test module or a
conftest.

- env: paths, keys, the test model, settings (`make_settings`, `emulator_settings`, `worker_env`)
- emulator: the emulator's process and its admin routes (state, faults, reset)
- api: projects and keys, jobs (`create_job`, `wait_terminal`), lists, problem+json answers
- uploads: raw multipart bodies and what a refused upload must leave untouched
- servers: an app on a live uvicorn in a thread (the `live_url` fixture serves the service)
- webhooks: a local webhook receiver and the service's webhook routes
- workers, processes, redis_servers: real worker, API and Redis processes
- emulator_sdk: the emulator through the openai SDK (its own tests)
- evaluations, pipelines, playground, stack (make run and the README), dockerfile, browser
- fixtures: the shared fixtures, registered for every test by tests/conftest.py
"""
