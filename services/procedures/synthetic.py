"""A synthetic catalogue of any size, for benchmarks (the national database holds ~7,000).

Names are built from the real catalogue's own vocabulary (actions, objects, applicants),
so that word frequencies, lengths and diacritics look like the real thing. Deterministic
for a given seed.
"""

import random
from collections.abc import Iterator

from services.procedures.models import AgencyLevel, OnlineLevel
from services.procedures.schemas import (
    Confirmed,
    ProcedureContent,
    ProcessingTime,
    RequiredDocument,
    TimeUnit,
)

ACTIONS = (
    "Cấp", "Cấp lại", "Cấp đổi", "Đăng ký", "Đăng ký thay đổi", "Gia hạn", "Điều chỉnh",
    "Thu hồi", "Xác nhận", "Thẩm định", "Phê duyệt", "Công nhận", "Chứng thực", "Xóa đăng ký",
)  # fmt: skip
OBJECTS = (
    "giấy phép xây dựng", "giấy chứng nhận quyền sử dụng đất", "giấy phép kinh doanh",
    "giấy phép lái xe", "hộ chiếu phổ thông", "thẻ căn cước", "giấy khai sinh",
    "giấy chứng nhận đăng ký hộ kinh doanh", "chứng chỉ hành nghề", "giấy phép lao động",
    "giấy chứng nhận an toàn thực phẩm", "phiếu lý lịch tư pháp", "giấy phép môi trường",
    "giấy phép khai thác nước mặt", "giấy chứng nhận đủ điều kiện kinh doanh dược",
    "giấy phép hoạt động khám bệnh, chữa bệnh", "giấy phép tổ chức lễ hội",
    "giấy chứng nhận đăng ký phương tiện", "văn bằng, chứng chỉ", "giấy phép quảng cáo",
)  # fmt: skip
APPLICANTS = (
    "", "cho cá nhân", "cho tổ chức", "cho doanh nghiệp", "có yếu tố nước ngoài",
    "cho hợp tác xã", "đối với nhà ở riêng lẻ", "trong khu công nghiệp", "tại cấp xã",
)  # fmt: skip
FIELDS = (
    "ho-tich", "dat-dai", "chung-thuc", "dang-ky-kinh-doanh", "giao-thong", "cu-tru",
    "lao-dong-viec-lam", "giao-duc-dao-tao", "ly-lich-tu-phap", "xay-dung", "can-cuoc",
    "xuat-nhap-canh", "bao-tro-xa-hoi", "bao-hiem-y-te", "an-toan-thuc-pham", "thue",
)  # fmt: skip


def synthetic_catalogue(count: int, *, seed: int = 766) -> Iterator[ProcedureContent]:
    rng = random.Random(seed)
    for number in range(1, count + 1):
        name = " ".join(
            part
            for part in (rng.choice(ACTIONS), rng.choice(OBJECTS), rng.choice(APPLICANTS))
            if part
        )
        days = rng.choice((1, 2, 3, 5, 7, 10, 15, 20, 30))
        yield ProcedureContent(
            code=f"SYN-{number:05d}",
            name=f"{name} (mẫu {number})",
            field_code=rng.choice(FIELDS),
            level=rng.choice((AgencyLevel.PROVINCE, AgencyLevel.COMMUNE, AgencyLevel.MINISTRY)),
            competent_agency="Cơ quan mẫu",
            online_level=rng.choice(tuple(OnlineLevel)),
            processing_time=ProcessingTime(unit=TimeUnit.WORKING_DAYS, value=days),
            processing_time_text=f"{days:02d} ngày làm việc",
            fee_text="Không",
            required_documents=[RequiredDocument(name="Đơn đề nghị")],
            confirmed=Confirmed(processing_time=False, fee=False, online_level=False),
        )
