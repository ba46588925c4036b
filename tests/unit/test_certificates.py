from domain.certificates import make_cert_no, mask_id_card, mask_name


def test_certificate_number_is_readable_and_fixed_width() -> None:
    assert make_cert_no(2026, "hunau", 123) == "HN2026HUNAU000123"
    assert make_cert_no(2026, "hunnu", 1_234_567) == "HN2026HUNNU1234567"  # grows, never wraps


def test_names_are_masked_for_verifiers() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("张小伟") == "张*伟"
    assert mask_name("欧阳小明") == "欧**明"
    assert mask_name("王") == "王"


def test_id_card_keeps_only_region_and_last_four() -> None:
    assert mask_id_card("430102199001011234") == "4301**********1234"
    assert mask_id_card("") == ""
    assert mask_id_card("12345") == "*****"
