import pandas as pd
import pytest

from kajabi_sync.kajabi.columns import (
    FIXED_COLUMNS,
    contact_fields_text,
    form_handle,
    looks_like_card_data,
    mapped_columns_by_handle,
)
from kajabi_sync_tests.kajabi.contract import HEADER


def test_form_columns_are_keyed_on_the_handle_not_the_label():
    assert form_handle("Teléfono (phone_number)") == "phone_number"
    assert form_handle("Last Name (custom_2)") == "custom_2"
    assert form_handle("Last Name") is None
    frame = pd.DataFrame(
        {
            "Last Name": ["Doe"],
            "Last Name (custom_2)": ["NOT A NAME"],
            "Teléfono (phone_number)": ["555"],
            "First Name": [""],
            "ID": ["1"],
            "Member ID": [""],
        }
    )
    fields = contact_fields_text(frame)
    assert fields.loc[0, "last_name"] == "Doe"
    assert fields.loc[0, "phone"] == "555"


def test_contract_header_maps_every_field():
    frame = pd.DataFrame([{label: f"v:{label}" for label in HEADER}])
    fields = contact_fields_text(frame).iloc[0]
    assert fields["first_name"] == "v:First Name"
    assert fields["last_name"] == "v:Last Name"
    assert fields["kajabi_id"] == "v:ID"
    assert fields["kajabi_member_id"] == "v:Member ID"
    assert fields["phone"] == "v:Phone Number (phone_number)"
    assert fields["address_line_1"] == "v:Address (address_line_1)"
    assert fields["address_line_2"] == "v:Address Line 2 (address_line_2)"
    assert fields["city"] == "v:City (address_city)"
    assert fields["state"] == "v:State (address_state)"
    assert fields["postal_code"] == "v:Zip Code (address_zip)"
    assert fields["country"] == "v:Country (address_country)"


def test_phone_falls_back_to_mobile_only_when_phone_is_empty():
    frame = pd.DataFrame(
        {
            "Phone (phone_number)": ["111", "  ", ""],
            "Mobile (mobile_phone_number)": ["222", "333", ""],
        }
    )
    assert contact_fields_text(frame)["phone"].tolist() == ["111", "333", ""]


def test_a_handle_in_two_columns_is_refused():
    with pytest.raises(ValueError, match="phone_number"):
        mapped_columns_by_handle(["Phone (phone_number)", "Teléfono (phone_number)"])


@pytest.mark.parametrize(
    "label",
    [
        "Card Number (custom_3)",
        "credit card",
        "CC (custom_7)",
        "cc_number",
        "CVV",
        "cvc2",
        "Security Code",
        "Expiry",
        "Expiration Date (custom_4)",
        "Exp Date",
        "exp_month",
        "MM/YY",
        "Card Verification Value",
    ],
)
def test_card_like_labels_are_recognised(label):
    assert looks_like_card_data(label)


@pytest.mark.parametrize(
    "label",
    [*FIXED_COLUMNS, *HEADER, "Experience (custom_1)", "Accessibility needs", "Company (custom_2)"],
)
def test_ordinary_labels_are_not_card_data(label):
    assert not looks_like_card_data(label)
