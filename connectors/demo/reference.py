"""Fixed reference data for the synthetic demo county (code tables, name pools, service items)."""

from __future__ import annotations

import datetime as dt

# GB/T 3304 ethnicity codes, as in tests/fixtures/samples/ethnicity.csv (a test holds the two equal).
ETHNICITY_ROWS: tuple[tuple[str, str], ...] = tuple(
    (code, name)
    for code, name in (
        line.split(",", 1)
        for line in """01,汉族
02,蒙古族
03,回族
04,藏族
05,维吾尔族
06,苗族
07,彝族
08,壮族
09,布依族
10,朝鲜族
11,满族
12,侗族
13,瑶族
14,白族
15,土家族
16,哈尼族
17,哈萨克族
18,傣族
19,黎族
20,傈僳族
21,佤族
22,畲族
23,高山族
24,拉祜族
25,水族
26,东乡族
27,纳西族
28,景颇族
29,柯尔克孜族
30,土族
31,达斡尔族
32,仫佬族
33,羌族
34,布朗族
35,撒拉族
36,毛南族
37,仡佬族
38,锡伯族
39,阿昌族
40,普米族
41,塔吉克族
42,怒族
43,乌孜别克族
44,俄罗斯族
45,鄂温克族
46,德昂族
47,保安族
48,裕固族
49,京族
50,塔塔尔族
51,独龙族
52,鄂伦春族
53,赫哲族
54,门巴族
55,珞巴族
56,基诺族
97,其他
98,外国血统中国籍人士""".splitlines()
    )
)

# The sample database's DDL, verbatim.
CIVIL_AFFAIRS_DDL: tuple[str, ...] = (
    "CREATE TABLE T_HJ_JMXX (JMID TEXT PRIMARY KEY, XM TEXT, SFZHM TEXT, XB TEXT, CSRQ TEXT, MZ TEXT,\n"
    "      HH TEXT, YHZGX TEXT, XZQHDM TEXT, HJDZ TEXT, LXDH TEXT, RYZT TEXT, GXSJ TEXT)",
    "CREATE TABLE T_JZ_DBXX (DBID TEXT PRIMARY KEY, JMID TEXT, JZLX TEXT, JE TEXT, KSRQ TEXT, JSRQ TEXT,\n"
    "      ZT TEXT, GXSJ TEXT)",
    "CREATE TABLE T_FW_FWSX (SXBM TEXT PRIMARY KEY, SXMC TEXT, BLQD TEXT, BLDD TEXT, CNQX TEXT, SXZT TEXT,\n"
    "      GXSJ TEXT)",
)

CIVIL_AFFAIRS_SERVICES: tuple[tuple[str, ...], ...] = (
    (
        "MZ001",
        "城乡最低生活保障申请",
        "线上,线下,代办",
        "示范县政务服务中心民政窗口",
        "20",
        "1",
        "2026-01-05 10:00:00",
    ),
    ("MZ002", "高龄津贴申领", "线下,代办", "各乡镇便民服务中心", "15", "1", "2026-01-05 10:00:00"),
    ("MZ003", "临时救助申请", "线下,代办", "各乡镇便民服务中心", "5", "1", "2026-01-05 10:00:00"),
    ("MZ004", "婚姻登记预约", "线上", "示范县婚姻登记处", "1", "1", "2026-01-05 10:00:00"),
    ("MZ005", "殡葬补贴申领", "线下", "示范县政务服务中心民政窗口", "10", "0", "2026-01-05 10:00:00"),
    ("MZ006", "残疾人两项补贴申请", "线上,线下,代办", "各乡镇便民服务中心", "20", "1", "2026-03-18 09:30:00"),
)

HR_SERVICES: tuple[dict[str, object], ...] = (
    {
        "serviceCode": "RS101",
        "serviceName": "城乡居民养老保险参保登记",
        "channels": ["ONLINE", "COUNTER", "AGENT"],
        "hall": "各乡镇便民服务中心",
        "promiseDays": 1,
        "active": True,
    },
    {
        "serviceCode": "RS102",
        "serviceName": "失业登记",
        "channels": ["ONLINE", "COUNTER"],
        "hall": "示范县政务服务中心人社窗口",
        "promiseDays": 1,
        "active": True,
    },
    {
        "serviceCode": "RS103",
        "serviceName": "职业技能培训报名",
        "channels": ["ONLINE", "COUNTER", "AGENT"],
        "hall": "示范县就业服务中心",
        "promiseDays": 3,
        "active": True,
    },
    {
        "serviceCode": "RS104",
        "serviceName": "养老保险待遇领取资格认证",
        "channels": ["ONLINE", "AGENT"],
        "hall": "各村便民服务代办点",
        "promiseDays": 1,
        "active": True,
    },
    {
        "serviceCode": "RS105",
        "serviceName": "农民工欠薪投诉",
        "channels": ["COUNTER"],
        "hall": "示范县劳动保障监察大队",
        "promiseDays": 5,
        "active": False,
    },
)

# The "now" of the demo county: every date is before it, so output never depends on the wall clock.
REFERENCE_DAY = dt.date(2026, 11, 1)
GXSJ_FIRST_DAY = dt.date(2024, 6, 1)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚"
    "卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
MALE_CHARS = "建国伟强军勇斌刚明涛杰波辉鹏浩志豪宇超平飞俊林海云文华春然子兵东"
FEMALE_CHARS = "琳梅秀英芳丽娟霞兰怡雨凤琴燕红玉桂欣思涵嘉敏静婷洁慧珍莉萍艳"
YI_FAMILY = ("阿苏", "吉克", "沙马", "曲比", "阿约", "海来", "马海", "俄底", "日火", "阿什", "吉伍", "倮伍")
YI_GIVEN_MALE = ("拉则", "依作", "木呷", "尔古", "伍各", "子哈", "石哈", "阿果", "黑日", "拉哈")
YI_GIVEN_FEMALE = ("阿呷", "阿依", "阿果", "史伍", "么么", "阿芝", "依莫", "金莫", "阿支", "日嫫")

# Ethnicity of a household: (MZ code, cumulative weight); 07 彝族 households get Yi names with a middle dot.
ETHNICITY_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("01", 0.86),
    ("07", 0.92),
    ("33", 0.94),
    ("06", 0.955),
    ("15", 0.97),
    ("04", 0.98),
    ("03", 0.99),
    ("97", 0.995),
    ("98", 1.0),
)

PLACE_FIRST = "青龙白高石竹水金凤黄桃新双红马柏杨花仙梨松鹤狮象银长安太平永兴福安乐和"
PLACE_SECOND = "山头云坪桥林口溪田湾坝河岩塘沟坡峰岭池滩园丰湖源泉塆堰井寺"
PLACE_MIDDLE = "兴安和平福阳明光丰华星新合顺盛隆德"

PHONE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "176",
    "177",
    "180",
    "181",
    "182",
    "183",
    "184",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "193",
    "195",
    "198",
    "199",
]

EMPLOYERS = ("某建筑公司", "某物流公司", "某服装厂", "某餐饮店", "某电子厂", "某家政公司", "某汽车配件厂")

WORK_PLACES: tuple[tuple[str, str], ...] = (
    ("广东省", "东莞市"),
    ("广东省", "深圳市"),
    ("广东省", "广州市"),
    ("广东省", "佛山市"),
    ("浙江省", "宁波市"),
    ("浙江省", "杭州市"),
    ("浙江省", "温州市"),
    ("福建省", "泉州市"),
    ("福建省", "厦门市"),
    ("四川省", "成都市"),
    ("江苏省", "苏州市"),
    ("重庆市", "重庆市"),
    ("上海市", "上海市"),
)

NOTICE_TITLES = (
    "关于春季招聘会的通知",
    "关于秋冬季防火的通知",
    "关于高龄津贴资格认证的通知",
    "关于医保参保的通知",
    "关于城乡居民养老保险缴费的通知",
    "关于汛期地质灾害防范的预警",
    "关于开展农村低保年度复核的公告",
    "关于返乡务工人员就业登记的通知",
    "关于秋季学期学生资助申请的通知",
    "关于便民服务中心办公时间调整的公告",
    "关于防范电信网络诈骗的宣传",
    "关于持续高温天气的预警",
)
NOTICE_CATEGORIES = ("政策宣传", "通知公告", "便民服务", "应急预警")
NOTICE_AUDIENCES = ("全体村民", "老年人", "务工人员", "学生家长")
