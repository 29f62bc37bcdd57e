import pandas as pd

from kajabi_sync.masking import mask_email, mask_one_email, mask_phone


def test_emails_keep_two_letters_and_the_domain():
    masked = mask_email(pd.Series(["jane.doe@example.com", "not-an-email", None]))
    assert masked.tolist()[:2] == ["ja***@example.com", "***"]
    assert pd.isna(masked.iloc[2])


def test_one_email_is_masked_as_in_a_column():
    assert mask_one_email("jane.doe@example.com") == "ja***@example.com"
    assert mask_one_email("not-an-email") == "***"


def test_empty_and_all_missing_series_are_returned_as_they_are():
    assert mask_email(pd.Series([], dtype="string")).empty
    assert mask_email(pd.Series([None, None])).isna().all()


def test_phones_show_only_the_last_four_digits():
    assert mask_phone(pd.Series(["+1 (303) 555-0101"])).tolist() == ["***0101"]
