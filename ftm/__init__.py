"""ftm: a Python client and command line for finetune-manager."""
