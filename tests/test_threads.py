"""The thread budget: engine and torch threads chosen together, never more than the cores."""

from __future__ import annotations

import pytest

from parley.config import Settings
from parley.threads import available_cores, plan_threads
from parley.wiring import thread_plan


@pytest.mark.parametrize("budget", [1, 2, 3, 4, 8, 16, 64])
def test_engine_and_torch_fit_the_budget(budget):
    plan = plan_threads(budget)
    assert plan.engine >= 1 and plan.torch >= 1
    assert plan.engine + plan.torch <= max(budget, 2)
    assert plan.engine_batch <= budget or budget == 1


def test_two_cores_give_one_to_each():
    plan = plan_threads(2)
    assert (plan.engine, plan.torch, plan.engine_batch) == (1, 1, 2)


def test_without_torch_the_engine_takes_everything():
    assert plan_threads(2, torch_needed=False).engine == 2


def test_transformers_engine_is_one_pool():
    plan = plan_threads(8, engine_uses_torch=True)
    assert plan.engine == plan.torch == 8


def test_model_threads_override_the_engine_share():
    assert plan_threads(8, engine_threads=3).engine == 3


def test_default_budget_is_the_available_cores():
    assert plan_threads(None).budget == available_cores()


def test_settings_choose_the_plan():
    in_process = {"engine": "llama.cpp"}
    on = Settings.model_validate({"threads": 4, "model": in_process})
    assert thread_plan(on).engine == 3
    off = Settings.model_validate(
        {
            "threads": 4,
            "model": in_process,
            "retrieval": {"enabled": False},
            "moderation": {"moderator": "none"},
        }
    )
    assert thread_plan(off).engine == 4
    hf = Settings.model_validate({"threads": 4, "model": {"engine": "transformers"}})
    assert thread_plan(hf).engine == 4


def test_an_engine_in_its_own_process_decodes_on_the_whole_budget():
    assert plan_threads(2, engine_own_process=True).engine == 2
    assert plan_threads(2, engine_own_process=True).torch == 1
    managed = Settings.model_validate({"threads": 4, "model": {"engine": "llama-server"}})
    assert thread_plan(managed).engine == 4
    # `auto` runs llama-server when set-up built it, else llama.cpp in-process.
    from parley.engines.llama_server import find_llama_server

    served = thread_plan(Settings.model_validate({"threads": 4}))
    assert served.engine == (4 if find_llama_server(None) else 3)
