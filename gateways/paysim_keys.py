"""The key material of the embedded provider and of the merchant that talks to it.

`make run` has no real Alipay or WeChat Pay account, so the simulator plays both providers with key
pairs of its own, generated at first start under `var/paysim/`: for each channel a merchant key pair
(the merchant signs requests, the simulator verifies them) and a platform key pair (the simulator
signs answers and notifications, the merchant verifies them), plus WeChat's APIv3 key that encrypts
notifications. Going live replaces the merchant side with the real files named in config.py.
"""

from __future__ import annotations

import os
import secrets
import shutil
import string
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

FILES = (
    "alipay_app_private.pem",  # the merchant's application private key (signs requests)
    "alipay_app_public.pem",  # uploaded to Alipay: the provider verifies requests with it
    "alipay_platform_private.pem",  # Alipay's own key (signs answers and notifications)
    "alipay_public.pem",  # 支付宝公钥: the merchant verifies with it
    "wechat_merchant_private.pem",  # apiclient_key.pem
    "wechat_merchant_public.pem",  # in the merchant certificate the provider holds
    "wechat_platform_private.pem",  # WeChat Pay's own key
    "wechat_platform_public.pem",  # 微信支付公钥 (with its public key id)
    "wechat_apiv3_key.txt",  # 32 characters, encrypts notifications (AEAD_AES_256_GCM)
)
WECHAT_PUBLIC_KEY_ID = "PUB_KEY_ID_0116000000000000000000000000"
WECHAT_MERCHANT_SERIAL = "3775B6A45ACD588826D15E583A95F5DD0000001"


@dataclass(frozen=True)
class SimKeys:
    alipay_app_private: str
    alipay_app_public: str
    alipay_platform_private: str
    alipay_public: str
    wechat_merchant_private: str
    wechat_merchant_public: str
    wechat_platform_private: str
    wechat_platform_public: str
    wechat_apiv3_key: str


def _pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def _generate(folder: Path) -> None:
    contents: list[str] = []
    for _ in range(4):
        contents.extend(_pair())
    alphabet = string.ascii_letters + string.digits
    contents.append("".join(secrets.choice(alphabet) for _ in range(32)))
    for name, text in zip(FILES, contents, strict=True):
        (folder / name).write_text(text)
        os.chmod(folder / name, 0o600)


@lru_cache
def load_sim_keys(var_dir: Path) -> SimKeys:
    """The simulator's keys under `var_dir/paysim`, generated the first time.

    The web app and the worker may start together: each generates into a folder of its own and
    renames it into place; the loser of that race throws its keys away and reads the winner's."""
    folder = Path(var_dir) / "paysim"
    if not (folder / FILES[-1]).exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".paysim-", dir=folder.parent))
        _generate(scratch)
        try:
            os.rename(scratch, folder)
        except OSError:  # somebody else's keys are in place
            shutil.rmtree(scratch, ignore_errors=True)
    texts = [(folder / name).read_text() for name in FILES]
    return SimKeys(*texts)
