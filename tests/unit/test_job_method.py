"""A job's method: OpenAI's two shapes, each with only its own hyperparameters."""

import pytest
from pydantic import TypeAdapter, ValidationError

from service.jobs.models import DpoMethod, JobCreate, Method, SupervisedMethod

METHOD: TypeAdapter[Method] = TypeAdapter(Method)


@pytest.mark.parametrize("body", [
    {"hyperparameters": {"beta": "auto"}},
    {"method": {"type": "supervised", "supervised": {"hyperparameters": {"beta": 0.1}}}},
    {"method": {"type": "supervised", "dpo": {}}},
    {"method": {"type": "dpo", "supervised": {}}},
    {"method": {"supervised": {}}},
])
def test_hyperparameters_of_the_other_method_are_refused(body):
    with pytest.raises(ValidationError):
        JobCreate.model_validate({"model": "m", "training_dataset": "ds_1", **body})


def test_records_written_before_the_split_still_read():
    supervised = METHOD.validate_python({"type": "supervised", "dpo": None, "supervised": {
        "hyperparameters": {"n_epochs": 3, "batch_size": None, "beta": None}}})
    assert isinstance(supervised, SupervisedMethod)
    assert supervised.hyperparameters.n_epochs == 3
    dpo = METHOD.validate_python({"type": "dpo", "supervised": None,
                                  "dpo": {"hyperparameters": {"beta": 0.2}}})
    assert isinstance(dpo, DpoMethod)
    assert dpo.hyperparameters.beta == 0.2
