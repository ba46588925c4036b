"""Demo data: two training bases, 24 courses, trainees with employer units, staff for every queue.

`python -m db.seed` loads it when the database is empty and makes the courseware clips.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings, get_settings
from core.passwords import hash_password
from db.base import make_engine, make_sessionmaker
from db.models.catalog import Category, Chapter, Course, Major, School
from db.models.hours import HoursRecord
from db.models.users import Role, User
from domain.credit_code import make_credit_code
from domain.hours import HoursSource, RecordState

DEMO_COURSE_CODE = "DEMO-01"

DEMO_ACCOUNTS = [
    {"role": "学员", "login": "扫码登录，选择“张伟”", "password": "", "name": "张伟（湖南省农业科学院）"},
    {"role": "学员", "login": "扫码登录，选择“李娜”", "password": "", "name": "李娜（长沙市第一中学）"},
    {"role": "学员", "login": "扫码登录，选择“王芳”", "password": "", "name": "王芳（湘潭市中心医院）"},
    {"role": "财务审核员", "login": "finance", "password": "Finance@2026", "name": "赵会计"},
    {"role": "财务组长（可改派任务）", "login": "finance_lead", "password": "Lead@2026", "name": "郑组长"},
    {"role": "平台管理员", "login": "admin", "password": "Admin@2026", "name": "钱管理"},
    {"role": "学校审核员（湖南农业大学）", "login": "reviewer_hunau", "password": "Review@2026", "name": "孙老师"},
    {"role": "学校审核员（湖南师范大学）", "login": "reviewer_hunnu", "password": "Review@2026", "name": "周老师"},
    {"role": "单位管理员（湖南省农业科学院）", "login": "unit_hnaas", "password": "Unit@2026", "name": "吴主任"},
    {"role": "单位管理员（长沙市第一中学）", "login": "unit_csyz", "password": "Unit@2026", "name": "郑主任"},
    {"role": "单位管理员（湘潭市中心医院）", "login": "unit_xtzh", "password": "Unit@2026", "name": "冯主任"},
]
DEMO_ACCOUNTS += [
    {"role": "课程管理员（湖南农业大学）", "login": "course_hunau", "password": "Course@2026", "name": "吴老师"},
    {"role": "课程管理员（湖南师范大学）", "login": "course_hunnu", "password": "Course@2026", "name": "郑老师"},
]

# 课程管理: a draft course at 湖南农业大学 with one uploaded chapter, ready for 提交审核. Its clip
# lasts exactly 0.5 学时 (22.5 minutes at 45 minutes a 学时); `python -m db.seed` generates it.
DRAFT_COURSE_CODE = "DRAFT-01"
DRAFT_CLIP = "courseware/hunau-draft-01-1.mp4"
DRAFT_CLIP_SECONDS = 1350
UNIT_ADMIN_PASSWORD = "Unit@2026"

MAJORS = ["农学", "教育学", "临床医学", "信息技术", "经济管理"]


@dataclass(frozen=True)
class CourseSpec:
    code: str
    title: str
    category: str
    major: str
    subject: str  # public / professional
    hours: str
    price_yuan: int
    teacher: str
    chapters: int = 4


HUNAU_COURSES = [
    CourseSpec(
        DEMO_COURSE_CODE, "演示课程：十分钟了解继续教育学习", "公共科目", "农学", "public", "1", 10, "平台讲师", 3
    ),
    CourseSpec("PUB-01", "习近平新时代中国特色社会主义思想概论", "公共科目", "农学", "public", "6", 60, "刘教授"),
    CourseSpec("PUB-02", "事业单位工作人员职业道德与行为规范", "公共科目", "农学", "public", "4", 40, "陈教授"),
    CourseSpec("PUB-03", "法治政府建设与依法行政", "公共科目", "农学", "public", "4", 40, "杨教授"),
    CourseSpec("PUB-04", "数字政府与公共服务创新", "公共科目", "信息技术", "public", "3", 30, "黄教授"),
    CourseSpec("PUB-05", "心理健康与压力管理", "公共科目", "教育学", "public", "3", 30, "吴教授"),
    CourseSpec("AGR-01", "现代农业种植技术", "农业科技", "农学", "professional", "8", 80, "周教授"),
    CourseSpec("AGR-02", "农作物病虫害绿色防控", "农业科技", "农学", "professional", "8", 80, "徐教授"),
    CourseSpec("AGR-03", "智慧农业与物联网应用", "农业科技", "农学", "professional", "8", 80, "孙教授"),
    CourseSpec("AGR-04", "乡村振兴战略与实践", "农业科技", "农学", "professional", "6", 60, "马教授"),
    CourseSpec("AGR-05", "农产品质量安全监管", "农业科技", "农学", "professional", "6", 60, "朱教授"),
    CourseSpec("ECO-01", "事业单位财务管理实务", "经济管理", "经济管理", "professional", "6", 60, "胡教授"),
    CourseSpec("ECO-02", "政府采购与内部控制", "经济管理", "经济管理", "professional", "6", 60, "郭教授"),
    CourseSpec("ECO-03", "预算绩效管理", "经济管理", "经济管理", "professional", "4", 40, "何教授"),
    CourseSpec("IT-01", "网络安全与个人信息保护", "信息技术", "信息技术", "professional", "4", 40, "高教授"),
    CourseSpec("IT-02", "办公软件高效应用", "信息技术", "信息技术", "professional", "4", 40, "林教授"),
]

HUNNU_COURSES = [
    CourseSpec("PUB-01", "社会主义核心价值观专题", "公共科目", "教育学", "public", "4", 40, "罗教授"),
    CourseSpec("PUB-02", "保密教育与安全意识", "公共科目", "教育学", "public", "3", 30, "梁教授"),
    CourseSpec("EDU-01", "新课程标准解读与教学设计", "教育教学", "教育学", "professional", "8", 80, "宋教授"),
    CourseSpec("EDU-02", "课堂管理与学生心理辅导", "教育教学", "教育学", "professional", "8", 80, "郑教授"),
    CourseSpec("EDU-03", "信息技术与课堂教学融合", "教育教学", "教育学", "professional", "8", 80, "谢教授"),
    CourseSpec("EDU-04", "教育科研方法", "教育教学", "教育学", "professional", "6", 60, "韩教授"),
    CourseSpec("MED-01", "医患沟通技巧", "医疗卫生", "临床医学", "professional", "6", 60, "唐教授"),
    CourseSpec("MED-02", "医疗质量与安全管理", "医疗卫生", "临床医学", "professional", "6", 60, "冯教授"),
    CourseSpec("MED-03", "传染病防控基础", "医疗卫生", "临床医学", "professional", "4", 40, "于教授"),
]

CHAPTER_TOPICS = ["导论", "核心概念", "政策解读", "案例分析", "实践应用", "总结与测评"]
COVER_COLORS = ["#1f5fa8", "#2e7d32", "#8e44ad", "#c0392b", "#d35400", "#16a085", "#2c3e50", "#7f6000"]


async def seed(session: AsyncSession, settings: Settings) -> bool:
    """Loads the demo data into an empty database; returns False when data is already there."""
    if (await session.scalar(select(func.count()).select_from(School))) or 0:
        return False
    majors = {name: Major(name=name) for name in MAJORS}
    session.add_all(majors.values())
    hunau = School(
        code="hunau",
        name="湖南农业大学",
        intro="湖南省事业单位人员继续教育基地，面向全省事业单位工作人员开展公共科目和农业类专业科目培训。",
        tax_id=make_credit_code("12430000444880" + "045"[:3]),
        tax_rate="exempt",
    )
    hunnu = School(
        code="hunnu",
        name="湖南师范大学",
        intro="湖南省事业单位人员继续教育基地，面向教育、卫生等行业事业单位工作人员开展专业科目培训。",
        tax_id=make_credit_code("12430000444880" + "123"[:3]),
        tax_rate="0.03",
    )
    session.add_all([hunau, hunnu])
    await session.flush()
    for school, specs in ((hunau, HUNAU_COURSES), (hunnu, HUNNU_COURSES)):
        await _add_courses(session, school, specs, majors)
    users = _demo_users(hunau, hunnu)
    session.add_all(users)
    await session.flush()
    await _add_unit_hours(session, hunau, users)
    await _add_draft_course(session, hunau, majors)
    await session.commit()
    return True


async def _add_draft_course(session: AsyncSession, school: School, majors: dict[str, Major]) -> None:
    category = await session.scalar(
        select(Category).where(Category.school_id == school.id, Category.name == "农业科技")
    )
    assert category is not None
    course = Course(
        school_id=school.id,
        category_id=category.id,
        major_id=majors["农学"].id,
        code=DRAFT_COURSE_CODE,
        title="农村电商实务（演示草稿）",
        teacher="吴老师",
        description="课程管理演示：课件已上传，学时与课件时长相符，可直接提交审核。",
        subject_category="professional",
        hours=Decimal("0.5"),
        price_cents=2000,
        published=False,
        state="draft",
        cover_color="#16a085",
    )
    session.add(course)
    await session.flush()
    session.add(
        Chapter(
            course_id=course.id, seq=1, title="第1讲 农村电商概览", duration_seconds=DRAFT_CLIP_SECONDS, clip=DRAFT_CLIP
        )
    )


async def _add_courses(
    session: AsyncSession, school: School, specs: list[CourseSpec], majors: dict[str, Major]
) -> None:
    categories: dict[str, Category] = {}
    rnd = random.Random(school.code)  # the same demo data on every machine
    for i, spec in enumerate(specs):
        if spec.category not in categories:
            categories[spec.category] = Category(school_id=school.id, name=spec.category, sort=len(categories))
            session.add(categories[spec.category])
            await session.flush()
        course = Course(
            school_id=school.id,
            category_id=categories[spec.category].id,
            major_id=majors[spec.major].id,
            code=spec.code,
            title=spec.title,
            teacher=spec.teacher,
            description=(
                f"《{spec.title}》由{spec.teacher}主讲，共 {spec.chapters} 讲，完成全部学习可获得 {spec.hours} 学时。"
            ),
            subject_category=spec.subject,
            hours=Decimal(spec.hours),
            price_cents=spec.price_yuan * 100,
            published=True,
            cover_color=COVER_COLORS[i % len(COVER_COLORS)],
        )
        session.add(course)
        await session.flush()
        demo = spec.code == DEMO_COURSE_CODE
        for seq in range(1, spec.chapters + 1):
            session.add(
                Chapter(
                    course_id=course.id,
                    seq=seq,
                    title=f"第{seq}讲 {CHAPTER_TOPICS[seq - 1]}",
                    # the demo course is short enough to finish by hand: 1–2 minutes a chapter
                    duration_seconds=rnd.randint(60, 120) if demo else rnd.choice([15, 20, 25, 30]) * 60,
                    clip=f"{school.code}-{course.code}-{seq}.mp4" if demo else f"{school.code}-{course.code}.mp4",
                )
            )


def _demo_users(hunau: School, hunnu: School) -> list[User]:
    trainees = [
        ("张伟", "湖南省农业科学院", "13807310001", "430102198501011234"),
        ("李娜", "长沙市第一中学", "13807310002", "430104199003152345"),
        ("王芳", "湘潭市中心医院", "13807310003", "430302198807203456"),
    ]
    codes = {unit: make_credit_code(f"1243{i:02d}00MB{i:07d}"[:17]) for i, (_, unit, _, _) in enumerate(trainees, 1)}
    # 湖南省农业科学院 has people ahead of and behind the requirement (_add_unit_hours); 张伟 has none yet
    trainees += [
        ("刘洋", "湖南省农业科学院", "13807310004", "430102198806061111"),
        ("陈静", "湖南省农业科学院", "13807310005", "430102199208082222"),
    ]
    users = [
        User(
            role=Role.TRAINEE,
            name=name,
            phone=phone,
            id_card=id_card,
            unit_name=unit,
            unit_credit_code=codes[unit],
            email=f"trainee{i}@example.cn",
        )
        for i, (name, unit, phone, id_card) in enumerate(trainees, start=1)
    ]
    admins = {"湖南省农业科学院": ("unit_hnaas", "吴主任"), "长沙市第一中学": ("unit_csyz", "郑主任"),
              "湘潭市中心医院": ("unit_xtzh", "冯主任")}
    users += [
        User(
            role=Role.UNIT_ADMIN,
            username=login,
            password_hash=hash_password(UNIT_ADMIN_PASSWORD),
            name=name,
            unit_name=unit,
            unit_credit_code=codes[unit],
            email=f"{login}@example.cn",
        )
        for unit, (login, name) in admins.items()
    ]
    staff = [
        (Role.FINANCE, "finance", "Finance@2026", "赵会计", None),
        (Role.FINANCE_LEAD, "finance_lead", "Lead@2026", "郑组长", None),
        (Role.ADMIN, "admin", "Admin@2026", "钱管理", None),
        (Role.SCHOOL_REVIEWER, "reviewer_hunau", "Review@2026", "孙老师", hunau.id),
        (Role.SCHOOL_REVIEWER, "reviewer_hunnu", "Review@2026", "周老师", hunnu.id),
        (Role.COURSE_ADMIN, "course_hunau", "Course@2026", "吴老师", hunau.id),
        (Role.COURSE_ADMIN, "course_hunnu", "Course@2026", "郑老师", hunnu.id),
    ]
    users += [
        User(role=role, username=login, password_hash=hash_password(pw), name=name, school_id=school_id)
        for role, login, pw, name, school_id in staff
    ]
    return users


async def _add_unit_hours(session: AsyncSession, school: School, users: list[User]) -> None:
    """This year's counted hours: 刘洋 is ahead of the requirement (92 学时), 陈静 behind (36 学时)."""
    year = datetime.now(ZoneInfo("Asia/Shanghai")).year
    by_name = {u.name: u for u in users if u.role == Role.TRAINEE}
    courses = (await session.scalars(select(Course).where(Course.school_id == school.id).order_by(Course.id))).all()
    plan = {"刘洋": (8, 48), "陈静": (4, 19)}  # (completed courses, approved self-declared hours)
    for name, (completed, declared) in plan.items():
        trainee = by_name[name]
        for course in courses[1 : completed + 1]:
            session.add(_record(trainee, year, HoursSource.PLATFORM, RecordState.RECORDED, course.title,
                                school.name, course.subject_category, course.hours, school.id, course.id))
        session.add(_record(trainee, year, HoursSource.SELF, RecordState.APPROVED, "全省农业技术推广培训班",
                            "湖南省农业农村厅", "professional", Decimal(declared), school.id, None))


def _record(
    trainee: User, year: int, source: str, state: str, name: str, organiser: str, subject: str,
    hours: Decimal, school_id: int, course_id: int | None,
) -> HoursRecord:
    day = date(year, 3, 15)
    return HoursRecord(
        trainee_id=trainee.id, source=source, state=state, training_name=name, organiser=organiser,
        start_date=day, end_date=day, subject_category=subject, training_type="in_post", hours=hours,
        year=year, school_id=school_id, course_id=course_id, approved_at=datetime.now(UTC),
    )


async def clip_titles(session: AsyncSession) -> dict[str, str]:
    """Clip file name -> the title drawn on it (the chapter's for the demo course, else the course's)."""
    rows = (await session.execute(select(Chapter.clip, Chapter.title, Course.title).join(Course))).all()
    titles: dict[str, str] = {}
    for clip, chapter_title, course_title in rows:
        titles.setdefault(clip, chapter_title if clip.count("-") >= 3 else course_title)
    return titles


async def main() -> None:
    from media.clips import ensure_clips, make_clip

    settings = get_settings()
    engine = make_engine(settings.database_url)
    async with make_sessionmaker(engine)() as session:
        loaded = await seed(session, settings)
        print("演示数据已加载" if loaded else "数据库已有数据，跳过演示数据")
        titles = await clip_titles(session)
    await engine.dispose()
    draft = settings.media_dir / DRAFT_CLIP
    if DRAFT_CLIP in titles and not draft.exists():
        # long but cheap: one small frame a second
        make_clip(draft, titles[DRAFT_CLIP], seconds=DRAFT_CLIP_SECONDS, width=320, height=180, fps=1)
    ensure_clips(settings.media_dir, {name.removesuffix(".mp4"): t for name, t in titles.items()})


if __name__ == "__main__":
    asyncio.run(main())
