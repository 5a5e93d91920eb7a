import pytest
from pydantic import ValidationError

from parley.engines.params import GenerationParams, describe_params_error


def test_sampling_follows_temperature_unless_forced():
    assert GenerationParams(temperature=0.7).sampling
    assert not GenerationParams(temperature=0).sampling
    assert not GenerationParams(temperature=0.7, do_sample=False).sampling


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("temperature", -0.1, "greater than or equal to 0"),
        ("top_p", 0, "greater than 0"),
        ("top_p", 1.5, "less than or equal to 1"),
        ("top_k", -1, "greater than or equal to 0"),
        ("max_new_tokens", 0, "greater than or equal to 1"),
        ("max_new_tokens", 10**6, "less than or equal to 8192"),
        ("repetition_penalty", 0, "greater than 0"),
        ("seed", -5, "greater than or equal to 0"),
        ("stop", [""], "must not be empty"),
    ],
)
def test_out_of_range_values_get_clear_messages(field, value, fragment):
    with pytest.raises(ValidationError) as info:
        GenerationParams(**{field: value})
    message = describe_params_error(info.value)
    assert message.startswith(f"{field}")
    assert fragment in message
    assert repr(value) in message


def test_do_sample_without_temperature_is_refused():
    with pytest.raises(ValidationError) as info:
        GenerationParams(temperature=0, do_sample=True)
    assert "do_sample=true needs temperature > 0" in describe_params_error(info.value)


def test_unknown_parameter_lists_the_known_ones():
    with pytest.raises(ValidationError) as info:
        GenerationParams.model_validate({"temprature": 0.5})
    message = describe_params_error(info.value)
    assert "temprature: unknown parameter" in message
    assert "temperature" in message


def test_updated_validates_and_ignores_none():
    params = GenerationParams(temperature=0.5)
    assert params.updated(temperature=None, top_k=5).top_k == 5
    assert params.updated(temperature=None).temperature == 0.5
    with pytest.raises(ValidationError):
        params.updated(top_p=2)
