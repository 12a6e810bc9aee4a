from collections import Counter

from bot.classifier import BACKGROUND
from bot.linear import Linear


def _docs() -> list[tuple[int, Counter[str]]]:
    moments = ["customer angry refund", "client loved demo", "prospect asked pricing",
               "customer signed renewal"]
    chatter = ["lunch friday pizza", "printer jammed again", "team offsite friday",
               "pizza order lunch"]
    return ([(0, Counter(text.split())) for text in moments]
            + [(BACKGROUND, Counter(text.split())) for text in chatter])


def test_it_learns_which_words_tell_the_labels_apart() -> None:
    model = Linear(_docs(), [0, BACKGROUND])
    moment = model.scores(Counter(["customer", "refund"]))
    chatter = model.scores(Counter(["pizza", "lunch"]))
    assert moment[0] > moment[BACKGROUND]
    assert chatter[BACKGROUND] > chatter[0]


def test_the_same_examples_give_the_same_weights() -> None:
    message = Counter(["client", "friday", "pricing"])
    assert Linear(_docs(), [0, BACKGROUND]).scores(message) == \
        Linear(_docs(), [0, BACKGROUND]).scores(message)


def test_unknown_words_and_empty_messages_score_zero() -> None:
    model = Linear(_docs(), [0, BACKGROUND])
    assert model.scores(Counter()) == {BACKGROUND: 0.0, 0: 0.0}
    assert model.scores(Counter(["zebra"])) == {BACKGROUND: 0.0, 0: 0.0}
