"""All configuration in one place, read from the environment (or a `.env` file).

Defaults are the embedded set-up of `make run`: SQLite under var/, the Temporal dev server on
127.0.0.1:7233, the mail catcher on 127.0.0.1:1025. Production sets at least ENVIRONMENT,
SECRET_KEY, PAYMENT_NOTIFY_SECRET, DATABASE_URL and TEMPORAL_ADDRESS.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# config.py sits at the repository root, so its own folder is the root (var/ lives next to it).
ROOT = Path(__file__).resolve().parent
DEV_SECRET = "dev-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: str = "development"
    secret_key: str = DEV_SECRET
    base_url: str = "http://127.0.0.1:8000"

    database_url: str = f"sqlite+aiosqlite:///{ROOT / 'var' / 'app.db'}"
    var_dir: Path = ROOT / "var"

    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_ui_url: str = "http://127.0.0.1:8233"
    task_queue: str = "training"

    # Unused since the providers' own signatures replaced the simulator's HMAC (docs/PAYMENTS.md);
    # still read so that existing deployments' environments stay valid.
    payment_notify_secret: str = "dev-payment-secret"
    order_payment_timeout_minutes: float = 30
    # How long a closed order still listens for a late payment (providers retry ~24 h).
    late_payment_window_hours: float = 24
    # The simulator re-sends an unacknowledged notification with this first delay, doubling.
    notify_retry_seconds: float = 2
    # The providers' real protocols (docs/PAYMENTS.md). Empty values mean the embedded simulator:
    # its URLs under BASE_URL/paysim/ and its own key pairs under var/paysim/. Going live sets the
    # provider's URLs, the merchant's ids and the paths of the key files it was given.
    # Where the worker reaches the embedded simulator's provider APIs (and their bill downloads);
    # empty = BASE_URL. In docker-compose the workers reach it at http://web:8000.
    paysim_api_url: str = ""
    alipay_app_id: str = "2021000000000001"
    alipay_gateway_url: str = ""  # live: https://openapi.alipay.com/gateway.do
    alipay_app_private_key_file: str = ""  # 应用私钥 (PEM)
    alipay_public_key_file: str = ""  # 支付宝公钥 (PEM)
    wechatpay_mchid: str = "1900000001"
    wechatpay_appid: str = "wx0000000000000001"
    wechatpay_api_url: str = ""  # live: https://api.mch.weixin.qq.com
    wechatpay_private_key_file: str = ""  # apiclient_key.pem
    wechatpay_cert_serial_no: str = ""  # the merchant certificate's serial number
    wechatpay_apiv3_key: str = ""  # 32 characters
    wechatpay_public_key_file: str = ""  # 微信支付公钥 (PEM)
    wechatpay_public_key_id: str = ""  # PUB_KEY_ID_...
    # A trade still waiting this long after its order's deadline is queried and settled or closed
    # by the daily reconciliation.
    reconcile_stuck_after_minutes: float = 60

    login_qr_ttl_seconds: int = 180

    # Study (DOMAIN.md defaults; demo data may shorten them).
    heartbeat_seconds: int = 30
    heartbeat_tolerance_seconds: int = 5
    captcha_min_seconds: int = 600
    captcha_max_seconds: int = 1200
    captcha_timeout_seconds: int = 90
    captcha_max_wrong: int = 3
    idle_end_seconds: int = 300
    # the web's sweeper: ends sessions past their deadline, re-sends reports the workflow missed
    study_sweep_seconds: float = 10
    # the workflow asks the ledger itself when no report of an open session came for this long
    study_backstop_seconds: int = 6 * 3600
    # A study run continues as new after a session once its history has this many events.
    study_continue_after_events: int = 1000
    # Exposes the expected captcha answer to browser tests. Never on in a normal run.
    test_hooks: bool = False

    # Review
    review_due_hours: float = 48
    review_reminder_hours: float = 24

    # Hours
    yearly_required_hours: float = 90
    max_hours_per_day: float = 8

    # 单位管理员 compliance rounds (a Temporal Schedule, schedules created by the worker): hours
    # are due by this day of each year (MM-DD); a round runs this many days before it, at
    # compliance_round_hour o'clock Asia/Shanghai (the first number is the earlier round)
    compliance_deadline: str = "11-30"
    compliance_round_days_before: list[int] = [30, 7]
    compliance_round_hour: int = 9

    # Uploads
    max_upload_bytes: int = 5 * 1024 * 1024

    # Course administration (课程管理): 1 学时 = this many minutes of courseware, give or take the
    # tolerance; courseware uploads (MP4/H.264) up to this size
    course_minutes_per_hour: float = 45
    course_hours_tolerance_minutes: float = 5
    max_courseware_bytes: int = 500 * 1024 * 1024

    # Mail
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    mail_from: str = "invoice@training.hunan.local"
    mailcatcher_url: str = "http://127.0.0.1:8025"

    # Operations (docs/OPERATIONS.md): where the worker serves the SDK's Prometheus metrics
    # (host:port, e.g. 0.0.0.0:9464); empty = none.
    worker_metrics_address: str = ""

    @model_validator(mode="after")
    def _refuse_dev_secret_in_production(self) -> Settings:
        if self.environment != "development" and self.secret_key == DEV_SECRET:
            raise ValueError("SECRET_KEY must be set outside development")
        return self

    @property
    def media_dir(self) -> Path:
        return self.var_dir / "media"

    @property
    def files_dir(self) -> Path:
        return self.var_dir / "files"


@lru_cache
def get_settings() -> Settings:
    return Settings()
