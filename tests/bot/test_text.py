import pytest

from bot.text import MAX_CHARS, clean, deletes, stem


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<@U123ABC> the client is ANGRY!!!", "the client is angry"),
        ("see <#C123|sales> now", "see sales now"),
        ("read <https://example.com/t/1|the ticket> pls", "read the ticket pls"),
        ("bare <https://example.com/x> link", "bare link"),
        (":tada: we won :rocket:", "we won"),
        ("<at>Touchpoint</at> customer's invoice", "customers invoice"),
        ("<p>angry&nbsp;<b>customer</b></p>", "angry customer"),
        ("Ｆｕｌｌｗｉｄｔｈ Café", "fullwidth café"),
        ("<!channel> heads up", "heads up"),
    ],
)
def test_clean_removes_chat_markup(raw: str, expected: str) -> None:
    assert clean(raw) == expected


def test_clean_reads_only_the_start_of_huge_messages() -> None:
    assert len(clean("word " * 10 * MAX_CHARS)) <= MAX_CHARS


@pytest.mark.parametrize(
    "forms",
    [
        ("call", "calls", "called", "calling"),
        ("quote", "quotes", "quoted", "quoting"),
        ("company", "companies"),
        ("ship", "shipped", "shipping"),
        ("discount", "discounts", "discounted"),
        ("say", "said", "says"),
    ],
)
def test_stem_folds_inflections(forms: tuple[str, ...]) -> None:
    assert len({stem(word) for word in forms}) == 1


def test_deletes_are_one_edit_away() -> None:
    assert deletes("abc") == {"bc", "ac", "ab"}
