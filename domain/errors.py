"""Business refusals with Chinese messages.

Domain rules raise ``DomainError("CodeName")``; the API maps ``code`` to a 4xx response showing
``message``. Workflows raise ``ApplicationError(MESSAGES[code], type=code, non_retryable=True)``.
"""

from __future__ import annotations

MESSAGES: dict[str, str] = {
    # Cart / order
    "EmptySelection": "请至少选择一门课程",
    "CourseUnavailable": "课程不存在或已下架",
    "CourseAlreadyHeld": "您在该培训年份已购买过此课程",
    "MixedSchools": "一个订单只能包含同一学校的课程，请分别购买",
    "YearNotOffered": "该培训年份暂不开放，请选择当前年度或上一年度",
    "TrainingTypeInvalid": "请选择培训类型",
    "OrderNotFound": "订单不存在",
    "OrderNotPayable": "订单已关闭或已支付，无法支付",
    "OrderNotCancellable": "订单已支付或已关闭，无法取消",
    "PaymentChannelInvalid": "请选择支付方式（支付宝或微信支付）",
    "AmountInvalid": "金额不正确",
    # Study
    "OneCourseAtATime": "需在一个课程全部学完后，再进行下一个课程的学习",
    "ChapterLocked": "需要按目录顺序学习，请先学完上一章节",
    "SeekNotAllowed": "学习过程中视频不可拖动播放",
    "CaptchaPending": "请先输入图形验证码",
    "CaptchaWrong": "验证码错误，请重新输入",
    "CaptchaTimeout": "验证码超时未输入，已退出播放，请重新打开学习",
    "SessionEnded": "学习会话已结束，请重新打开学习",
    "SessionReplaced": "您已在其他页面或设备上继续学习，本页面已停止播放",
    "CaptchaTooManyWrong": "验证码连续输入错误次数过多，已退出播放，请重新打开学习",
    "ChapterDone": "本章节已学完，请学习下一章节",
    "CourseCompleted": "该课程已全部学完",
    # Swap / withdraw
    "SwapOnlyUnstudied": "只有未学习的课程才可以进行换课",
    "SwapSameMajorAndHours": "只能更换同专业下相同学时的课程",
    "WithdrawOnlyUnstudied": "只有未学习的课程才可以进行退课",
    "CourseWithdrawn": "该课程已退课",
    # Certificates
    "EnrollmentNotCompleted": "课程尚未学完，不能出具学习证明",
    "CertificateNotFound": "未找到该学习证明，请核对二维码或证明编号",
    "CertificateRevoked": "该学习证明已撤销，不能打印",
    "CertificatePdfPending": "学习证明正在生成，请稍后再试",
    "CertificateAlreadyRevoked": "该学习证明已撤销",
    "RevokeReasonRequired": "撤销学习证明必须填写原因",
    # Invoicing
    "CreditCodeInvalid": "统一社会信用代码校验不通过，请核对",
    "TaxIdInvalid": "纳税人识别号格式不正确（应为15、18或20位字母数字）",
    "TaxIdRequired": "单位抬头须填写纳税人识别号",
    "TitleRequired": "请填写发票抬头",
    "TitleTypeInvalid": "请选择抬头类型（个人或单位）",
    "TaxRateInvalid": "税率设置不正确",
    "EmailInvalid": "请填写正确的电子邮箱，用于接收电子发票",
    "InvoiceAlreadyRequested": "所选订单已申请或已开具发票",
    "UnitNotApproved": "单位尚未通过集体开票审核",
    # Personal invoice (个人发票)
    "InvoiceOrdersRequired": "请勾选要开票的订单",
    "InvoiceMixedSchools": "一次申请只能包含同一学校的订单，请按学校分别申请",
    "OrderNotInvoiceable": "所选订单不可开票（未支付或已全额退款）",
    "InvoiceNotFound": "发票申请不存在",
    "InvoiceNotCancellable": "该发票申请已处理，不能取消",
    "InvoicePdfPending": "电子发票正在生成，请稍后再试",
    # 集体开票: the unit qualification and the unit invoice
    "UnitNameRequired": "请输入单位名称",
    "UnitNameTooLong": "单位名称过长",
    "UnitTaxIdRequired": "请输入单位识别号",
    "AuthorizationRequired": "请上传委托书文件",
    "QualificationPending": "该单位的集体开票申请正在审核中，请勿重复提交",
    "UnitAlreadyApproved": "该单位已通过集体开票审核，无需重复申请",
    "YearRequired": "请选择年份",
    "NoRecordsSelected": "请勾选需要申请开票的记录",
    "SchoolRequired": "请先从学校入口进入学习平台",
    "Busy": "系统繁忙，请稍后重试",
    # Uploads
    "AuthorizationImageOnly": "委托书文件只能上传图片格式",
    "UploadTooLarge": "文件过大",
    "EvidenceFileType": "证明材料只能上传图片或PDF文件",
    # Hours
    "HoursYearOutOfRange": "只能填报当前年度及上年度的学时信息",
    "HoursDatesInvalid": "结束日期不能早于开始日期",
    "HoursTooMany": "学时数超过日期范围允许的上限",
    "HoursNotPositive": "学时数必须大于0",
    "HoursStepInvalid": "学时数须为0.5的整数倍",
    "HoursDuplicate": "该培训的学时已审核通过，不能重复申报",
    "RecordLocked": "审核中的记录不能修改",
    "RecordPending": "该记录已加入待提交申报，请先移出申报后再修改",
    "RecordApproved": "已审核通过的记录不能修改或删除",
    "HoursNameRequired": "请填写培训名称",
    "HoursOrganiserRequired": "请填写主办单位",
    "HoursDateRequired": "请填写正确的开始日期和结束日期",
    "HoursDateInFuture": "培训尚未结束，结束日期不能晚于今天",
    "HoursOutsideYear": "培训日期不在所选填报年份内",
    "SubjectCategoryInvalid": "请选择科目类别（公共科目或专业科目）",
    "HoursSelectionEmpty": "请勾选需要填报的学时信息",
    "DeclarationNotPending": "该申报已提交，不能重复提交",
    "DeclarationEmpty": "该申报中没有学时记录",
    "ReviewSchoolRequired": "请选择审核学校",
    "ItemDecisionRequired": "请对每条学时记录选择通过或驳回",
    "ItemDecisionConflict": "逐条审核结果均为通过，与驳回不一致，请将需驳回的记录选择为驳回并填写原因",
    "HoursDuplicatePending": "该培训的学时已在申报中，不能重复申报",
    "HoursDuplicateSelected": "所选记录中有同一培训的重复记录，请只保留一条",
    # Review
    "TaskAlreadyDecided": "该任务已处理",
    "TaskNotClaimed": "请先领取该任务",
    "TaskClaimedByOther": "该任务已被他人领取",
    "RejectReasonRequired": "驳回时必须填写原因",
    "DecisionRequired": "请选择审核结果（通过或驳回）",
    "TaskNotFound": "审核任务不存在",
    # Course administration (课程管理)
    "CourseTitleRequired": "请填写课程名称",
    "CourseCategoryRequired": "请选择课程类目",
    "CourseMajorRequired": "请选择专业",
    "CourseHoursInvalid": "学时须大于0，且为0.5的整数倍（不超过200）",
    "CoursePriceInvalid": "课程价格必须大于0元（最多两位小数）",
    "CourseHasNoChapters": "课程还没有章节，不能提交审核",
    "CourseHoursMismatch": "课程学时与课件总时长不符，请调整学时或课件",
    "CourseNotYours": "只能管理本校的课程",
    "CourseNotEditable": "该课程正在审核中，不能修改",
    "CourseUnderReview": "该课程已有版本在审核中，请等待审核结果",
    "CourseNotSubmittable": "该课程版本已上架或已审核中，无需重复提交",
    "CourseNotOnSale": "该课程未上架，无需下架",
    "ChapterTitleRequired": "请填写章节名称",
    "CoursewareRequired": "请选择要上传的课件视频",
    "CoursewareNotVideo": "课件必须是MP4格式（H.264编码）的视频文件，该文件无法识别为视频",
    "CoursewareCodec": "课件视频必须是H.264编码的MP4文件",
    "CoursewareNoDuration": "无法读取课件视频的时长，请检查文件",
    "CoverImageOnly": "封面只能上传图片格式（JPG或PNG）",
    "SchoolLinkMissing": "该账号未关联学校，请联系平台管理员",
    # Generic
    "NotFound": "内容不存在",
    "Forbidden": "无权访问",
    # Input limits and faults (api/limits.py, api/errors.py)
    "TextTooLong": "输入内容过长",
    "NumberOutOfRange": "数值超出允许范围",
    "TemporalUnavailable": "系统繁忙，请稍后再试",
    "OrderAlreadyOpen": "您已有包含该课程的待支付订单，请先支付或取消该订单",
    "ProcessFailed": "处理失败，已通知管理员处理，请稍后查看",
    # Trainee-page defects (issue 10 §2)
    "UnitTaxIdInvalid": "单位识别号格式不正确（应为15、18或20位字母数字）",
    "UnitCreditCodeInvalid": "单位识别号（统一社会信用代码）校验不通过，请核对",
    "CourseNotFound": "课程不存在或已下架",
    "PageNotFound": "页面不存在",
    "HoursYearNeverDeclarable": "培训日期须在当前年度或上年度内（只能填报当前年度及上年度的学时信息）",
    # 单位管理员 and compliance rounds
    "OtherUnitRoster": "只能查看本单位人员的学时情况",
    "NotUnitMember": "该人员不是本单位人员",
    "RosterYearInvalid": "请选择正确的年份",
    "ComplianceDeadlineInvalid": "学时达标截止日期配置有误，应为“月-日”，如 11-30",
    "ComplianceRoundsMissing": "未配置学时达标提醒轮次",
    # 消息中心
    "NoticeNotFound": "消息不存在",
    # Reconciliation (对账)
    "ReconcileActionRequired": "请选择处理方式：退款、补单入账或标记为已说明",
    "ReconcileActionNotAllowed": "该差异不能这样处理，请选择页面上提供的处理方式",
    "ReconcileNoteRequired": "请填写处理说明",
    "ReconcileNoOrder": "平台没有该订单，不能补单入账，请选择退款或标记为已说明",
    "ReconcileOrderGone": "该订单的支付流程已结束，不能补单入账，请选择退款",
    "ReconcileBusy": "该日对账正在进行，请稍后再试",
    "ReconcileDayInvalid": "对账日期无效：只能选择昨天及之前一年内的日期",
    # Inbox for volume: bulk actions, saved filters, comments, reassignment (docs/INBOX.md)
    "BulkNothingSelected": "请先勾选要处理的任务",
    "BulkTooMany": "一次最多处理 50 个任务",
    "BulkMixedKinds": "批量处理只能选择同一类型的任务，请先按类型筛选",
    "FilterNameRequired": "请填写筛选条件的名称",
    "FilterNameTaken": "已有同名的常用筛选，请换一个名称",
    "CommentRequired": "请填写评论内容",
    "ReassignLeadOnly": "只有组长可以改派任务",
    "ReassignTargetInvalid": "请选择本队列的另一位审核员",
}

FALLBACK_MESSAGE = "操作失败，请稍后重试"


def message_for(code: str) -> str:
    """The Chinese message for ``code`` (a generic one for an unknown code)."""
    return MESSAGES.get(code, FALLBACK_MESSAGE)


class DomainError(Exception):
    """A business rule refused the request; ``message`` is shown to the user as is."""

    code: str
    message: str

    def __init__(self, code: str, message: str | None = None) -> None:
        self.code = code
        self.message = message if message is not None else message_for(code)
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.message!r})"
