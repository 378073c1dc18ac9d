"""National code tables and enumerations of the unified schemas, with Chinese labels."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Self


class LabelledEnum(StrEnum):
    """A string enum whose members carry a Chinese label beside their code."""

    label: str

    def __new__(cls, value: str, label: str = "") -> Self:
        """Create a member holding its code as value and a Chinese label."""
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label = label
        return obj

    @classmethod
    def labels(cls) -> dict[str, str]:
        """Return the code -> label table, for OpenAPI descriptions and the console."""
        return {m.value: m.label for m in cls}

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict[str, Any]:
        """Document every code with its label in the JSON Schema."""
        schema: dict[str, Any] = handler(core_schema)
        schema["description"] = "; ".join(f"{m.value} {m.label}" for m in cls)
        return schema


class Sex(LabelledEnum):
    """Sex per GB/T 2261.1 (served as words, stored as words)."""

    UNKNOWN = "unknown", "未知的性别"
    MALE = "male", "男"
    FEMALE = "female", "女"
    UNSPECIFIED = "unspecified", "未说明的性别"

    @classmethod
    def from_gb(cls, code: str) -> Sex:
        """Translate a GB/T 2261.1 code (0, 1, 2, 9)."""
        return _SEX_GB[code]

    @classmethod
    def from_chinese(cls, word: str) -> Sex:
        """Translate 男 / 女 / 未知 as the HR systems write it."""
        return _SEX_ZH[word]


_SEX_GB = {"0": Sex.UNKNOWN, "1": Sex.MALE, "2": Sex.FEMALE, "9": Sex.UNSPECIFIED}
_SEX_ZH = {"男": Sex.MALE, "女": Sex.FEMALE, "未知": Sex.UNKNOWN}


class Ethnicity(LabelledEnum):
    """Ethnicity per GB/T 3304: the 56 nationalities plus 97 other and 98 foreign origin."""

    E01 = "01", "汉族"
    E02 = "02", "蒙古族"
    E03 = "03", "回族"
    E04 = "04", "藏族"
    E05 = "05", "维吾尔族"
    E06 = "06", "苗族"
    E07 = "07", "彝族"
    E08 = "08", "壮族"
    E09 = "09", "布依族"
    E10 = "10", "朝鲜族"
    E11 = "11", "满族"
    E12 = "12", "侗族"
    E13 = "13", "瑶族"
    E14 = "14", "白族"
    E15 = "15", "土家族"
    E16 = "16", "哈尼族"
    E17 = "17", "哈萨克族"
    E18 = "18", "傣族"
    E19 = "19", "黎族"
    E20 = "20", "傈僳族"
    E21 = "21", "佤族"
    E22 = "22", "畲族"
    E23 = "23", "高山族"
    E24 = "24", "拉祜族"
    E25 = "25", "水族"
    E26 = "26", "东乡族"
    E27 = "27", "纳西族"
    E28 = "28", "景颇族"
    E29 = "29", "柯尔克孜族"
    E30 = "30", "土族"
    E31 = "31", "达斡尔族"
    E32 = "32", "仫佬族"
    E33 = "33", "羌族"
    E34 = "34", "布朗族"
    E35 = "35", "撒拉族"
    E36 = "36", "毛南族"
    E37 = "37", "仡佬族"
    E38 = "38", "锡伯族"
    E39 = "39", "阿昌族"
    E40 = "40", "普米族"
    E41 = "41", "塔吉克族"
    E42 = "42", "怒族"
    E43 = "43", "乌孜别克族"
    E44 = "44", "俄罗斯族"
    E45 = "45", "鄂温克族"
    E46 = "46", "德昂族"
    E47 = "47", "保安族"
    E48 = "48", "裕固族"
    E49 = "49", "京族"
    E50 = "50", "塔塔尔族"
    E51 = "51", "独龙族"
    E52 = "52", "鄂伦春族"
    E53 = "53", "赫哲族"
    E54 = "54", "门巴族"
    E55 = "55", "珞巴族"
    E56 = "56", "基诺族"
    E97 = "97", "其他"
    E98 = "98", "外国血统中国籍人士"


class Relation(LabelledEnum):
    """Relation to the household head per GB/T 4761 (01 self is normalised to 02 head)."""

    HEAD = "02", "户主"
    SPOUSE = "10", "配偶"
    SON = "20", "子"
    DAUGHTER = "30", "女"
    GRANDCHILD = "40", "孙子女"
    PARENT = "50", "父母"
    GRANDPARENT = "60", "祖父母"
    SIBLING = "70", "兄弟姐妹"
    OTHER = "99", "其他"

    @classmethod
    def from_gb(cls, code: str) -> Relation:
        """Translate a GB/T 4761 code; 01 (self) means head."""
        return cls.HEAD if code == "01" else cls(code)


class ResidentStatus(LabelledEnum):
    """Registration status of a resident."""

    ACTIVE = "active", "正常"
    DECEASED = "deceased", "死亡"
    MOVED_OUT = "moved_out", "迁出"


class Tag(LabelledEnum):
    """Derived tags; recomputed whenever a contributing record changes."""

    ELDERLY = "elderly", "老年人(60岁及以上)"
    LIVING_ALONE = "living_alone", "独居"
    LOW_INCOME = "low_income", "低收入(低保或特困)"
    DISABLED = "disabled", "残疾(领取残疾人两项补贴)"
    MIGRANT_WORKER = "migrant_worker", "外出务工人员"
    LEFT_BEHIND_CHILD = "left_behind_child", "留守儿童"
    NEEDS_REVIEW = "needs_review", "待人工核对"


class Department(LabelledEnum):
    """The departments that own sources."""

    CIVIL_AFFAIRS = "civil_affairs", "民政"
    HR = "hr", "人社"
    PUBLICITY = "publicity", "宣传"


class RegionLevel(LabelledEnum):
    """Administrative level of a region."""

    PROVINCE = "province", "省"
    CITY = "city", "市"
    COUNTY = "county", "县"
    TOWNSHIP = "township", "乡镇"
    VILLAGE = "village", "村(社区)"


class EnrollmentKind(LabelledEnum):
    """Benefit or insurance programme a resident is enrolled in."""

    MINIMUM_LIVING_ALLOWANCE = "minimum_living_allowance", "城乡低保"
    EXTREME_POVERTY_SUPPORT = "extreme_poverty_support", "特困供养"
    TEMPORARY_ASSISTANCE = "temporary_assistance", "临时救助"
    DISABILITY_SUBSIDY = "disability_subsidy", "残疾人两项补贴"
    OLD_AGE_ALLOWANCE = "old_age_allowance", "高龄津贴"
    URBAN_RURAL_PENSION = "urban_rural_pension", "城乡居民养老保险"
    EMPLOYEE_PENSION = "employee_pension", "职工养老保险"
    URBAN_RURAL_MEDICAL = "urban_rural_medical", "城乡居民医疗保险"
    UNEMPLOYMENT = "unemployment", "失业保险"
    WORK_INJURY = "work_injury", "工伤保险"


class EnrollmentStatus(LabelledEnum):
    """State of an enrolment."""

    ACTIVE = "active", "享受中/参保"
    SUSPENDED = "suspended", "暂停"
    STOPPED = "stopped", "停止/终止"


class EmploymentStatus(LabelledEnum):
    """Employment status as HR records it."""

    EMPLOYED = "employed", "就业"
    UNEMPLOYED = "unemployed", "失业"
    FLEXIBLE = "flexible", "灵活就业"
    MIGRANT = "migrant", "外出务工"
    RETIRED = "retired", "退休"
    NONE = "none", "无"


class Channel(LabelledEnum):
    """How a public service can be obtained."""

    ONLINE = "online", "线上"
    COUNTER = "counter", "线下窗口"
    AGENT = "agent", "代办"


class NoticeCategory(LabelledEnum):
    """Category of a public notice."""

    POLICY = "policy", "政策宣传"
    ANNOUNCEMENT = "announcement", "通知公告"
    SERVICE_INFO = "service_info", "便民服务"
    EMERGENCY = "emergency", "应急预警"


class Audience(LabelledEnum):
    """Audience a notice addresses."""

    EVERYONE = "everyone", "全体村民"
    ELDERLY = "elderly", "老年人"
    MIGRANT_WORKERS = "migrant_workers", "务工人员"
    PARENTS = "parents", "学生家长"
