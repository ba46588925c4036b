import pytest

from domain.errors import MESSAGES, DomainError

REQUIRED = {
    "EmptySelection": "请至少选择一门课程",
    "CourseAlreadyHeld": "您在该培训年份已购买过此课程",
    "YearNotOffered": "该培训年份暂不开放，请选择当前年度或上一年度",
    "OneCourseAtATime": "需在一个课程全部学完后，再进行下一个课程的学习",
    "SeekNotAllowed": "学习过程中视频不可拖动播放",
    "CaptchaTimeout": "验证码超时未输入，已退出播放，请重新打开学习",
    "SwapSameMajorAndHours": "只能更换同专业下相同学时的课程",
    "WithdrawOnlyUnstudied": "只有未学习的课程才可以进行退课",
    "AuthorizationImageOnly": "委托书文件只能上传图片格式",
    "HoursYearOutOfRange": "只能填报当前年度及上年度的学时信息",
    "CreditCodeInvalid": "统一社会信用代码校验不通过，请核对",
    "RejectReasonRequired": "驳回时必须填写原因",
    "Forbidden": "无权访问",
}


@pytest.mark.parametrize(("code", "text"), REQUIRED.items())
def test_message_is_looked_up_by_code(code: str, text: str) -> None:
    err = DomainError(code)
    assert err.code == code
    assert err.message == text
    assert str(err) == text


def test_every_message_is_chinese_and_non_empty() -> None:
    assert len(MESSAGES) >= 40
    for code, text in MESSAGES.items():
        assert code[0].isupper() and code.isidentifier()
        assert any("\u4e00" <= ch <= "\u9fff" for ch in text), code


def test_override_message_keeps_code() -> None:
    err = DomainError("UploadTooLarge", "文件过大（不能超过5MB）")
    assert err.code == "UploadTooLarge"
    assert err.message == "文件过大（不能超过5MB）"


def test_unknown_code_gets_generic_chinese_message() -> None:
    err = DomainError("SomethingNew")
    assert err.code == "SomethingNew"
    assert err.message == "操作失败，请稍后重试"


def test_is_an_exception() -> None:
    with pytest.raises(DomainError) as info:
        raise DomainError("OrderNotFound")
    assert info.value.message == "订单不存在"
