"""An OpenAI-compatible HTTP server for `make run` and the tests (files, uploads, fine-tuning,
batches, models, chat completions, embeddings), with fault injection under /__emulator/."""
