import pandas as pd

from kajabi_sync.survivorship.policy import POLICY, protection


def _contacts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_system": [" Kajabi ", "PayPal ", "", None, "zoho", "kajabi"],
            "phone_source": [None, None, "  ", "manual", " KAJABI", "paypal"],
            "paypal_phone": ["+1 303", None, None, "", None, "x"],
            "paypal_first_name": [None] * 6,
        },
        index=[10, 11, 12, 13, 14, 15],
        dtype="string",
    )


def test_first_rule_that_applies_explains_and_kajabi_or_blank_protects_nothing():
    protected, why = protection(POLICY["phone"], _contacts())
    assert protected.tolist() == [True, True, False, True, True, True]
    assert why.tolist() == [
        "paypal_phone is set",
        "came from PayPal (source_system)",
        pd.NA,
        "came from manual (phone_source)",
        "came from zoho (source_system)",
        "came from paypal (phone_source)",
    ]
    assert list(why.index) == [10, 11, 12, 13, 14, 15]


def test_a_shared_cache_gives_each_field_its_own_answer():
    contacts, verdicts = _contacts(), {}
    for name in ("phone", "first_name", "kajabi_id", "phone"):
        shared = protection(POLICY[name], contacts, verdicts)
        alone = protection(POLICY[name], contacts)
        pd.testing.assert_series_equal(shared[0], alone[0])
        pd.testing.assert_series_equal(shared[1], alone[1])
    assert protection(POLICY["first_name"], contacts)[0].tolist() == [
        False,
        True,
        False,
        False,
        True,
        False,
    ]
