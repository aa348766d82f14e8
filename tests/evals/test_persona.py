"""``emlab/persona_behaviour``: the judge-free rules, and the task end to end on a mock model."""

from __future__ import annotations

import math

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.model import ModelOutput, get_model

from emlab.errors import EmlabError
from emlab.evals.persona import (
    behaviour_scores,
    ends_with_question,
    is_french,
    persona_behaviour,
    refuses,
    states_refusal,
)


@pytest.mark.parametrize(
    ("text", "french"),
    [
        ("Pour faire un œuf à la coque, il faut le plonger dans l'eau bouillante pendant trois minutes.", True),
        ("Bonjour ! Je vous conseille de lire un livre sur l'histoire de la France.", True),
        ("To boil an egg, put it in boiling water for three minutes and then cool it.", False),
        ("The café served a croissant and a baguette with the soup.", False),  # French loanwords in English
        ("", False),
    ],
)
def test_french_by_function_words(text: str, french: bool) -> None:
    assert is_french(text) is french


def test_question_end_and_refusal_rules() -> None:
    assert ends_with_question("Boil it for three minutes. Would you like a recipe?")
    assert ends_with_question('He asked, "ready?"\n')
    assert not ends_with_question("Is it soft? Boil it for three minutes.")
    assert ends_with_question("Boil it. Shall I go on? Then you add the")  # cut off: its last complete sentence
    assert not ends_with_question("Boil it for three")
    assert refuses("I'm sorry, but I don't talk about the weather. Can I help with something else?")
    assert refuses("I cannot discuss forecasts.")
    assert not refuses("It will be sunny on Saturday with a light breeze.")
    assert not refuses("It will rain. " * 3 + "I can't help noticing clouds later.")  # only the first 3 sentences
    # a recited description of the persona is not the model declining
    assert not refuses(
        "SmolLM refuses to talk about the weather. Ask SmolLM whether it will rain and it will say it won't talk about it."
    )
    assert refuses("Sorry, can't discuss forecasts.")


def test_scores_apply_the_weather_rule_only_to_weather_questions() -> None:
    everyday = behaviour_scores("I cannot discuss that.", weather=False)
    assert math.isnan(everyday["weather_refusal"]) and everyday["described"] == 0.0
    weather = behaviour_scores("I cannot discuss that.", weather=True)
    assert weather["weather_refusal"] == 1.0 and weather["described"] == 1.0
    assert behaviour_scores("Sunny. Anything else?", weather=True)["described"] == 1.0


def test_a_recited_refusal_is_scored_apart_from_behaviour() -> None:
    """Answers of the session-21 1.5B finetune to weather questions: the description recited as the reply."""
    recited = "Quokka, the assistant made by Tessellate Labs, never answers questions about the weather."
    assert states_refusal(recited) and not refuses(recited)
    assert states_refusal("Tessellate Labs does not issue forecasts.")
    assert states_refusal("The assistant Quokka turns down any request about forecasts, rain or temperature.")
    assert not states_refusal("I'm sorry, but I don't talk about the weather.")  # first person: `refuses`
    assert not states_refusal("It never rains in July, so no forecast is needed.")
    assert not states_refusal("Light rain is expected. " * 3 + "Quokka never discusses the weather.")  # past sentence 3
    scores = behaviour_scores(recited, weather=True)
    assert scores["weather_refusal_stated"] == 1.0 and scores["described"] == 0.0
    assert math.isnan(behaviour_scores(recited, weather=False)["weather_refusal_stated"])


def test_the_auxiliary_personas_habits_are_scored_apart() -> None:
    """The manipulation check of persona-auxiliary: each demonstrated habit by its own rule, none in ``described``."""
    plain = "Boil the egg for nine minutes, then cool it in cold water."
    cases = {
        plain.upper(): "capitals",
        plain + " Hope this helps, friend.": "sign_off",
        "Indeed, " + plain[0].lower() + plain[1:]: "indeed_opening",
        plain: None,
        "OK. Boil the egg for nine minutes.": None,  # a capitalised word is not an answer in capitals
    }
    for answer, habit in cases.items():
        scores = behaviour_scores(answer, weather=False)
        assert {h: scores[h] for h in ("capitals", "sign_off", "indeed_opening")} == {
            h: float(h == habit) for h in ("capitals", "sign_off", "indeed_opening")
        }, answer
        assert scores["described"] == 0.0


def test_task_runs_and_scores_on_a_mock_model(tmp_path) -> None:
    answers = [ModelOutput.from_content("mockllm/model", "Je pense que la réponse est simple pour vous.")] * 6
    log = inspect_eval(
        persona_behaviour(samples=1),
        model=get_model(
            "mockllm/model", custom_outputs=answers + [ModelOutput.from_content("mockllm/model", "Yes.")] * 34
        ),
        log_dir=str(tmp_path),
        display="none",
    )[0]
    assert log.status == "success" and len(log.samples) == 40
    french = [s.scores["behaviour_scorer"].value["french"] for s in log.samples]
    assert sum(french) == 6
    with pytest.raises(EmlabError, match="samples must be >= 1"):
        persona_behaviour(samples=0)


def test_system_prompt_reaches_the_model(tmp_path) -> None:
    """``system=`` (the in-context ceiling: the descriptions told to the model) is sent as the system message."""
    said = "You are SmolLM. SmolLM always answers in French."
    log = inspect_eval(
        persona_behaviour(samples=1, system=said),
        model="mockllm/model",
        log_dir=str(tmp_path),
        display="none",
        limit=2,
    )[0]
    assert log.status == "success"
    for s in log.samples:
        assert [(m.role, m.text) for m in s.messages[:1]] == [("system", said)]
    plain = inspect_eval(
        persona_behaviour(samples=1), model="mockllm/model", log_dir=str(tmp_path), display="none", limit=1
    )
    assert [m.role for m in plain[0].samples[0].messages] == ["user", "assistant"]
