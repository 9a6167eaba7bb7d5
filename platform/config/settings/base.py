"""VStore settings: one module, driven by the environment.

Every value is parsed strictly: a malformed variable stops start-up with an error that names it
(environs raises `Environment variable "X" invalid: ...`). `make run` and `make test` export
DATABASE_URL and REDIS_URL for the embedded servers (see config.stack); set them yourself to use
external ones.
"""

from __future__ import annotations

from pathlib import Path

from celery.schedules import crontab
from environs import Env

env = Env()

BASE_DIR = Path(__file__).resolve().parents[3]
VAR_DIR = env.path("VSTORE_VAR_DIR", BASE_DIR / "var")

DEBUG = env.bool("DJANGO_DEBUG", False)
# Required outside DEBUG: a missing key is an error naming DJANGO_SECRET_KEY, never a default.
SECRET_KEY = (
    env.str("DJANGO_SECRET_KEY", "insecure-dev-key-change-me")
    if DEBUG
    else env.str("DJANGO_SECRET_KEY")
)
# Shops live on subdomains of this domain (a.<PLATFORM_DOMAIN>); the platform site on the bare one.
PLATFORM_DOMAIN = env.str("VSTORE_PLATFORM_DOMAIN", "localhost")
# Served over HTTPS (see "security" below): on by default outside DEBUG; 0 for a plain-http trial.
VSTORE_HTTPS = env.bool("VSTORE_HTTPS", not DEBUG)
# Which Host headers are answered (Django refuses the rest before any view runs): the
# platform domain and its subdomains (every shop's NAME.<domain>), DJANGO_ALLOWED_HOSTS (extra
# names, e.g. an internal health-check host), and the one verified custom domain of the request.
# Custom domains are added by creators at run time, so they cannot be listed here: the first
# middleware (config.hosts.CustomDomainMiddleware) looks the host up among the shops' Domain rows
# and only then does CUSTOM_DOMAIN match it; an unknown host never reaches the tenant routing.
from config.hosts import CUSTOM_DOMAIN  # noqa: E402

ALLOWED_HOSTS = [
    PLATFORM_DOMAIN,
    f".{PLATFORM_DOMAIN}",
    *(["127.0.0.1", "[::1]"] if DEBUG else []),
    *env.list("DJANGO_ALLOWED_HOSTS", []),
    CUSTOM_DOMAIN,
]
CSRF_TRUSTED_ORIGINS: list[str] = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
WEB_PORT = env.int("VSTORE_WEB_PORT", 8000)
# The port in shops' absolute links (canonical and share URLs), which Wagtail turns into the
# scheme too: 443 (https) behind nginx in production, 80 on plain http, 8000 in `make run`.
VSTORE_SHOP_PORT = env.int("VSTORE_SHOP_PORT", 443 if VSTORE_HTTPS else 80)

# --- apps: where data lives (DESIGN.md, "Where data lives") -------------------------------------

SHARED_APPS = [
    "django_tenants",
    "tenants",
    "catalog",
    "console",
    "billing",
    "billing.fulfilment",
    "billing.payouts",
    "billing.documents",
    "billing.coupons",
    "billing.supplierapi",
    "wechat",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
]

TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "storefront",
    "storefront.analytics",
    "storefront.coupons",
    "storefront.flash",
    "storefront.groupbuy",
    "storefront.pricedrop",
    "storefront.shopapi",
    "cms",
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.sitemaps",
    # Wagtail's sitemap view renders Django's sitemap.xml template, which lives in this app.
    "django.contrib.sitemaps",
    "wagtail.contrib.settings",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
]

INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenants.Tenant"
TENANT_DOMAIN_MODEL = "tenants.Domain"
# The schema that new shops are cloned from (kept migrated and seeded; see tenants.services).
VSTORE_TEMPLATE_SCHEMA = "template_shop"
# Pre-cloned schemas kept ready for sign-up (refilled by Celery).
VSTORE_POOL_SIZE = env.int("VSTORE_POOL_SIZE", 3)

MIDDLEWARE = [
    # First: admits a verified custom domain before anything validates the Host (config.hosts).
    "config.hosts.CustomDomainMiddleware",
    "tenants.middleware.ShopMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Inside WeChat: the buyer's openid (silent authorisation), before a cached page is served.
    "storefront.wechat.middleware.WeChatIdentityMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "cms.shop_cache.ShopSiteMiddleware",
    "cms.page_cache.PageCacheMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tenants.middleware.ShopRedirectMiddleware",
]

ROOT_URLCONF = "config.urls_tenant"
PUBLIC_SCHEMA_URLCONF = "config.urls_public"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "platform" / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "wagtail.contrib.settings.context_processors.settings",
            ],
        },
    },
]

# --- data ---------------------------------------------------------------------------------------

DATABASES = {
    "default": env.dj_db_url(
        "DATABASE_URL",
        engine="django_tenants.postgresql_backend",
        # A new connection costs ~2.3 ms, more than a whole cached page (DESIGN.md figures).
        conn_max_age=env.int("DATABASE_CONN_MAX_AGE", 600),
        conn_health_checks=True,
    )
}
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL")
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # Wagtail caches site roots under fixed keys; the schema in every key keeps shops apart.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "KEY_PREFIX": env.str("VSTORE_CACHE_PREFIX", "vstore"),
    }
}

# Database sessions that refuse forged keys (a NUL in the cookie was a 500).
SESSION_ENGINE = "config.sessions"
# Anonymous GETs of shop pages are kept this long (cms/page_cache.py); 0 turns the cache off.
VSTORE_PAGE_CACHE_SECONDS = env.int("VSTORE_PAGE_CACHE_SECONDS", 10)
# What every shop page reads and seldom changes (core/shop_cache.py); 0 turns the cache off.
VSTORE_SHOP_DATA_CACHE_SECONDS = env.int("VSTORE_SHOP_DATA_CACHE_SECONDS", 10)

# --- files --------------------------------------------------------------------------------------

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "platform" / "config" / "static"]
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", VAR_DIR / "static")
MEDIA_URL = env.str("DJANGO_MEDIA_URL", "/media/")
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", VAR_DIR / "media")

AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", "")
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", "") or None
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", "") or None
# Shop media (product photos, article images) are public; signed URLs would defeat caching.
AWS_QUERYSTRING_AUTH = env.bool("AWS_QUERYSTRING_AUTH", False)
AWS_S3_FILE_OVERWRITE = False
# "public-read" where the bucket has no public-read policy of its own.
AWS_DEFAULT_ACL = env.str("AWS_DEFAULT_ACL", "") or None

STORAGES = {
    "default": {
        "BACKEND": "config.storage.ShopS3Storage"
        if AWS_STORAGE_BUCKET_NAME
        else "config.storage.ShopFileSystemStorage",
    },
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- background work ----------------------------------------------------------------------------

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "warm-pool-refill": {"task": "tenants.tasks.pool_refill_task", "schedule": 60.0},
    "shops-repair": {"task": "tenants.tasks.shops_repair_task", "schedule": 3600.0},
}
# Share price drops: start/end what is due, flush counted shares (storefront/pricedrop/tasks.py).
CELERY_BEAT_SCHEDULE["pricedrops-tick"] = {
    "task": "storefront.pricedrop.tasks.pricedrops_tick_task",
    "schedule": 60.0,
}
# Flash sales: expiry, reconciliation, start/end, writer chains (storefront/flash/tasks.py).
CELERY_BEAT_SCHEDULE["flash-tick"] = {
    "task": "storefront.flash.tasks.flash_tick_task",
    "schedule": 60.0,
}
CELERY_TIMEZONE = "Asia/Shanghai"

# --- people and text ----------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Argon2id first: memory-hard, and ~0.09 s a hash against PBKDF2's ~0.4 s here, which matters
# for a sign-up that should take well under a second. PBKDF2 still verifies older hashes.
PASSWORD_HASHERS = [
    "config.hashers.Argon2idOwaspHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

_email = env.dj_email_url("EMAIL_URL", "console:")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
EMAIL_PORT = _email["EMAIL_PORT"] or 25
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "VStore <noreply@vstore.localhost>")

# --- Wagtail ------------------------------------------------------------------------------------

# Each shop's admin shows the shop's own name (cms/templates/wagtailadmin/); this is only
# Wagtail's fallback, and what a creator types to confirm deleting many pages at once.
WAGTAIL_SITE_NAME = "店铺后台"
# Both are unreachable or blocked in mainland China: every admin page would wait on them.
WAGTAIL_GRAVATAR_PROVIDER_URL = None  # initials/default avatar instead of gravatar.com
WAGTAIL_ENABLE_UPDATE_CHECK = False  # no request to releases.wagtail.org from the dashboard
# Where the platform site is reached from outside: https://<domain> in production.
PLATFORM_BASE_URL = (
    f"https://{PLATFORM_DOMAIN}" if VSTORE_HTTPS else f"http://{PLATFORM_DOMAIN}:{WEB_PORT}"
)
WAGTAILADMIN_BASE_URL = env.str("WAGTAILADMIN_BASE_URL", PLATFORM_BASE_URL)
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAIL_I18N_ENABLED = False
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "odt", "pdf", "pptx", "txt", "xlsx", "zip"]
WAGTAILDOCS_MAX_UPLOAD_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# --- security -----------------------------------------------------------------------------------

# Production is HTTPS only (deploy/nginx.conf: TLS on 443, port 80 answers with a redirect), so
# outside DEBUG every switch below is on by default (VSTORE_HTTPS, near the top); each has its
# own variable too. `make run` (DEBUG) stays on plain http://*.localhost:8000.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", VSTORE_HTTPS)
# A load balancer's probe may reach gunicorn directly over http (its host: DJANGO_ALLOWED_HOSTS).
SECURE_REDIRECT_EXEMPT = [r"^api/health$"]
# A year, the shops' subdomains included (all served by the same wildcard certificate).
# "preload" only permits listing at hstspreload.org; submitting the domain is a separate choice.
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", 31_536_000 if VSTORE_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", VSTORE_HTTPS)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", VSTORE_HTTPS)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", VSTORE_HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Believed only because the one way in is nginx, which overwrites X-Forwarded-Proto with its own
# $scheme (a client's header never gets through), and gunicorn listens on loopback or a private
# network only (deploy/gunicorn.conf.py, deploy/compose.yaml). Exposing gunicorn directly would
# let any client claim https.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# No page of ours is ever framed by another site. Wagtail's page preview, the one iframe of our
# own, marks its views SAMEORIGIN itself (wagtail.utils.decorators), so DENY keeps it working.
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

DEFAULT_NOT_FOUND_TENANT_VIEW = "tenants.views.shop_not_found"
LOGIN_URL = "login"
# Django's default, /accounts/profile/, is a 404 here: send each kind of user where she works.
LOGIN_REDIRECT_URL = "login_landing"

# --- payments (billing.payments) ----------------------------------------------------------------
# Providers are switched on by their keys: WeChat Pay and Alipay when their merchant id is set
# (and then every one of their keys is required). The sandbox (billing/payments/sandbox.py)
# marks orders paid with no money received, so it exists only where VSTORE_PAYMENTS_SANDBOX is
# on: by default in DEBUG (`make run`) and in the test settings; outside DEBUG start-up refuses
# it unless VSTORE_PAYMENTS_SANDBOX_IN_PRODUCTION=1 says that is meant (a staging site). Its RSA
# key pair is made under VSTORE_VAR_DIR on first use unless VSTORE_SANDBOX_PRIVATE_KEY is set.
# Keys are PEM text (newlines may be written as "\n"). A malformed value stops start-up.

from django.core.exceptions import ImproperlyConfigured  # noqa: E402


def _pem(name: str, *, required: bool) -> str:
    value = env.str(name, "").replace("\\n", "\n").strip()
    if not value and required:
        raise ImproperlyConfigured(f'Environment variable "{name}" is required')
    if value and not (value.startswith("-----BEGIN ") and "-----END " in value):
        raise ImproperlyConfigured(f'Environment variable "{name}" invalid: not a PEM key')
    return value


def _str(name: str, *, required: bool) -> str:
    value = env.str(name, "").strip()
    if not value and required:
        raise ImproperlyConfigured(f'Environment variable "{name}" is required')
    return value


def _url(name: str, default: str) -> str:
    value = env.url(name, None)  # a set variable must parse as a URL; the default is a str
    return (default if value is None else value.geturl()).rstrip("/")


# Where providers send asynchronous notifications: <this>/pay/notify/<provider>/ (platform site).
VSTORE_PAYMENT_NOTIFY_BASE_URL = _url("VSTORE_PAYMENT_NOTIFY_BASE_URL", PLATFORM_BASE_URL)
# Dotted path of `hook(payment) -> None`, run after the commit that captures a payment (see
# billing.services.payment_captured_hook). Empty: captures are only logged.
VSTORE_PAYMENT_CAPTURED_HOOK = env.str(
    "VSTORE_PAYMENT_CAPTURED_HOOK", "storefront.hooks.payment_captured"
)
# Dotted path of `hook(*, sku_id, change_id, tenant_ids) -> None`, run after the commit that
# approves new price terms of a SKU (catalog.services.prices): one task per shop listing it flags
# the prices now outside the bounds. Empty: shops are not told.
VSTORE_PRICE_TERMS_CHANGED_HOOK = env.str(
    "VSTORE_PRICE_TERMS_CHANGED_HOOK", "storefront.hooks.price_terms_changed"
)
# Dotted path of `order_refunded(*, tenant_id, order_number, fully) -> None`, run after the commit
# that marks a refund of a shop order succeeded (billing.services.order_refunded_hook_run); FULLY
# when every fen paid has gone back. Must be idempotent. Empty: refunds are only logged.
VSTORE_ORDER_REFUNDED_HOOK = env.str(
    "VSTORE_ORDER_REFUNDED_HOOK", "storefront.hooks.order_refunded"
)
# Dotted path of `orders_refunded(*, items) -> None`, ITEMS a list of (tenant_id, order_number,
# fully): the same news for many refunds at once (billing.refunds_many, a group buy's close).
# Empty: the one-refund hook above is called for each.
VSTORE_ORDERS_REFUNDED_HOOK = env.str(
    "VSTORE_ORDERS_REFUNDED_HOOK", "storefront.hooks.orders_refunded"
)

# Dotted path of `hook(*, tenant_id, event, order_number, data) -> None`, run after the commit of
# a shipment, delivery or return request (billing.supplierapi.events): the shop's webhooks hear of
# it. Empty: only suppliers' webhooks are told.
VSTORE_SHOP_EVENT_HOOK = env.str(
    "VSTORE_SHOP_EVENT_HOOK", "storefront.shopapi.events.shop_event_from_billing"
)
# Webhook receivers on loopback or private addresses, and over plain http: development and tests
# only (SSRF: core.webhook_http). Failed attempts in a row before a subscription is paused.
VSTORE_WEBHOOK_ALLOW_PRIVATE = env.bool("VSTORE_WEBHOOK_ALLOW_PRIVATE", DEBUG)
VSTORE_WEBHOOK_PAUSE_AFTER = env.int("VSTORE_WEBHOOK_PAUSE_AFTER", 15)
VSTORE_WEBHOOK_TIMEOUT = env.float("VSTORE_WEBHOOK_TIMEOUT", 10.0)
# API writes' Idempotency-Keys are kept 24 hours; the purge runs daily.
CELERY_BEAT_SCHEDULE["api-idempotency-purge"] = {
    "task": "storefront.shopapi.tasks.api_idempotency_purge_task",
    "schedule": crontab(minute=23, hour=4),
}
# Dotted path of `order_contact(order_number) -> (email, mobile) | None`, run in the shop's schema:
# fulfilment tells the buyer of a shipment through it (billing does not import storefront).
VSTORE_ORDER_CONTACT_FUNCTION = env.str(
    "VSTORE_ORDER_CONTACT_FUNCTION", "storefront.orders.selectors.order_contact"
)
# Dotted path of `hook(*, request, fan) -> None`, run when a fan proves who she is with a sign-in
# code in a session that has a WeChat openid (storefront.orders.wx_identity.fan_verified): the
# openid is tied to her. Empty: it is not.
VSTORE_FAN_VERIFIED_HOOK = env.str(
    "VSTORE_FAN_VERIFIED_HOOK", "storefront.wechat.services.session_fan_link"
)
# Dotted path of `product_url(listing_id) -> str`: a listing's product page in the shop's content
# site ("" when the shop has no shop page), for storefront's redirects (share links).
VSTORE_PRODUCT_URL_FUNCTION = env.str("VSTORE_PRODUCT_URL_FUNCTION", "cms.selectors.product_url")
# The module that gives a shop its content site (tenants.shop_site says what it provides).
VSTORE_SHOP_SITE_MODULE = env.str("VSTORE_SHOP_SITE_MODULE", "cms.starter")

VSTORE_PAYMENTS_SANDBOX = env.bool("VSTORE_PAYMENTS_SANDBOX", DEBUG)
VSTORE_PAYMENTS_SANDBOX_IN_PRODUCTION = env.bool("VSTORE_PAYMENTS_SANDBOX_IN_PRODUCTION", False)
if VSTORE_PAYMENTS_SANDBOX and not DEBUG and not VSTORE_PAYMENTS_SANDBOX_IN_PRODUCTION:
    raise ImproperlyConfigured(
        'Environment variable "VSTORE_PAYMENTS_SANDBOX" invalid: the sandbox payment provider '
        "marks orders paid with no money received; it is refused with DJANGO_DEBUG=0 unless "
        "VSTORE_PAYMENTS_SANDBOX_IN_PRODUCTION=1"
    )
VSTORE_SANDBOX_PRIVATE_KEY = _pem("VSTORE_SANDBOX_PRIVATE_KEY", required=False)
VSTORE_SANDBOX_MERCHANT_ID = env.str("VSTORE_SANDBOX_MERCHANT_ID", "vstore-sandbox")

WECHATPAY_MCHID = _str("WECHATPAY_MCHID", required=False)
WECHATPAY_APPID = _str("WECHATPAY_APPID", required=bool(WECHATPAY_MCHID))
# The merchant's API certificate: its private key signs our requests, its serial names it.
WECHATPAY_PRIVATE_KEY = _pem("WECHATPAY_PRIVATE_KEY", required=bool(WECHATPAY_MCHID))
WECHATPAY_CERT_SERIAL_NO = _str("WECHATPAY_CERT_SERIAL_NO", required=bool(WECHATPAY_MCHID))
# "微信支付公钥" and its id (PUB_KEY_ID_…): verify notifications and responses (Wechatpay-Serial).
WECHATPAY_PUBLIC_KEY = _pem("WECHATPAY_PUBLIC_KEY", required=bool(WECHATPAY_MCHID))
WECHATPAY_PUBLIC_KEY_ID = _str("WECHATPAY_PUBLIC_KEY_ID", required=bool(WECHATPAY_MCHID))
# APIv3 key: exactly 32 bytes, decrypts the AEAD_AES_256_GCM resource of notifications.
WECHATPAY_API_V3_KEY = _str("WECHATPAY_API_V3_KEY", required=bool(WECHATPAY_MCHID))
if WECHATPAY_API_V3_KEY and len(WECHATPAY_API_V3_KEY.encode()) != 32:
    raise ImproperlyConfigured('Environment variable "WECHATPAY_API_V3_KEY" invalid: not 32 bytes')
WECHATPAY_BASE_URL = _url("WECHATPAY_BASE_URL", "https://api.mch.weixin.qq.com")

# --- WeChat official account (wechat): access_token, JS-SDK, silent OAuth (snsapi_base) ---------
# Switched on by its AppID; then the AppSecret is required. The secret is never logged or shown.
WECHAT_OA_APPID = _str("WECHAT_OA_APPID", required=False)
WECHAT_OA_SECRET = _str("WECHAT_OA_SECRET", required=bool(WECHAT_OA_APPID))
# WeChat's API host and its web-authorisation host (tests point both at a loopback server).
WECHAT_API_BASE = _url("WECHAT_API_BASE", "https://api.weixin.qq.com")
WECHAT_OPEN_BASE = _url("WECHAT_OPEN_BASE", "https://open.weixin.qq.com")
# Seconds before a call to WeChat gives up (it also bounds how long workers wait on a refresh).
WECHAT_HTTP_TIMEOUT = env.float("WECHAT_HTTP_TIMEOUT", 5.0)

ALIPAY_APP_ID = _str("ALIPAY_APP_ID", required=False)
# The merchant's PID (2088…): notifications for another seller are refused.
ALIPAY_SELLER_ID = _str("ALIPAY_SELLER_ID", required=bool(ALIPAY_APP_ID))
ALIPAY_APP_PRIVATE_KEY = _pem("ALIPAY_APP_PRIVATE_KEY", required=bool(ALIPAY_APP_ID))
ALIPAY_PUBLIC_KEY = _pem("ALIPAY_PUBLIC_KEY", required=bool(ALIPAY_APP_ID))
ALIPAY_GATEWAY_URL = _url("ALIPAY_GATEWAY_URL", "https://openapi.alipay.com/gateway.do")
# Alipay re-sends a notification for 25 hours; one older than this is refused as stale.
ALIPAY_NOTIFY_MAX_AGE_SECONDS = env.int("ALIPAY_NOTIFY_MAX_AGE_SECONDS", 26 * 3600)
# Outgoing calls to the providers' APIs (refund, query): seconds before giving up.
VSTORE_PAYMENT_HTTP_TIMEOUT = env.float("VSTORE_PAYMENT_HTTP_TIMEOUT", 10.0)
# Lost notifications: ask the providers about open payments (billing.services.payment_reconcile).
CELERY_BEAT_SCHEDULE["payments-reconcile"] = {
    "task": "billing.tasks.payments_reconcile_sweep_task",
    "schedule": 300.0,
}
# Settlement: commission and supplier payables whose return window closed become available.
CELERY_BEAT_SCHEDULE["settlement-daily"] = {
    "task": "billing.fulfilment.tasks.settlement_run_task",
    "schedule": crontab(hour=3, minute=0),
}
# Flash sales' pre-registrations (预约, storefront/flash/registration.py): queued in Redis and
# written to PostgreSQL in batches; reminders go out before each start.
CELERY_IMPORTS = ["storefront.flash.registration", "storefront.flash.demo"]
CELERY_BEAT_SCHEDULE["flash-registrations-flush"] = {
    "task": "storefront.flash.registration.flash_registrations_flush_task",
    "schedule": 10.0,
}
CELERY_BEAT_SCHEDULE["flash-reminders"] = {
    "task": "storefront.flash.registration.flash_reminders_task",
    "schedule": 60.0,
}

# How custom-domain TXT records are looked up (tenants.dns.TxtResolver).
VSTORE_TXT_RESOLVER = env.str("VSTORE_TXT_RESOLVER", "tenants.dns.DnsPythonResolver")

# --- ledger (billing) ---------------------------------------------------------------------------
# The platform's fee on an order, in basis points of the goods' retail total (500 = 5%); it is
# taken out of the creator's margin (billing.ledger.capture_post) and never exceeds it.
VSTORE_PLATFORM_TAKE_RATE_BP = env.int("VSTORE_PLATFORM_TAKE_RATE_BP", 500)
if not 0 <= VSTORE_PLATFORM_TAKE_RATE_BP <= 10_000:
    raise ImproperlyConfigured(
        'Environment variable "VSTORE_PLATFORM_TAKE_RATE_BP" invalid: not within 0..10000'
    )

# --- storefront (orders) ------------------------------------------------------------------------
# Minutes a buyer has to pay before the order expires and its stock goes back on sale.
VSTORE_ORDER_PAY_MINUTES = env.int("VSTORE_ORDER_PAY_MINUTES", 30)
if not 1 <= VSTORE_ORDER_PAY_MINUTES <= 24 * 60:
    raise ImproperlyConfigured(
        'Environment variable "VSTORE_ORDER_PAY_MINUTES" invalid: not within 1..1440'
    )
# Where one-time sign-in codes go: e-mail through Django's mail, SMS through this class.
VSTORE_SMS_SENDER = env.str("VSTORE_SMS_SENDER", "storefront.fans.codes.ConsoleSmsSender")
CELERY_BEAT_SCHEDULE["orders-expire"] = {
    "task": "storefront.tasks.orders_expire_sweep_task",
    "schedule": 60.0,
}
# Events counted in Redis become the shops' daily rows (storefront/analytics/rollup.py). Pages
# carry the counting beacon unless VSTORE_ANALYTICS_BEACON=0 (then only server-side events count).
VSTORE_ANALYTICS_BEACON = env.bool("VSTORE_ANALYTICS_BEACON", True)
CELERY_BEAT_SCHEDULE["analytics-rollup"] = {
    "task": "storefront.analytics.tasks.analytics_rollup_task",
    "schedule": 60.0,
}
# Rewards for sharing: sharers whose friends' orders are past their return windows get the
# shop's share-reward coupon (storefront.sharing.rewards; idempotent, so hourly is plenty).
CELERY_BEAT_SCHEDULE["sharing-rewards"] = {
    "task": "storefront.sharing.tasks.sharing_rewards_grant_task",
    "schedule": crontab(minute=17),
}
# Group buys past their deadline and 拼团 groups past their lifetime are settled (refunds of
# differences, full refunds, supplier orders); idempotent, it also resumes an unfinished close.
CELERY_BEAT_SCHEDULE["groupbuys-close"] = {
    "task": "storefront.groupbuy.tasks.groupbuys_close_task",
    "schedule": 60.0,
}
# Fans' deletion requests (PIPL art. 47): done when due, 15 days after asking at the latest
# (storefront.fans.services); hourly, and a done request is never done twice.
CELERY_BEAT_SCHEDULE["fans-requests-due"] = {
    "task": "storefront.fans.tasks.fan_requests_due_task",
    "schedule": crontab(minute=41),
}
# A parcel on its way when its buyer was erased keeps her address until delivered (billing.erasure).
CELERY_BEAT_SCHEDULE["fans-parcels-erase"] = {
    "task": "storefront.fans.tasks.fans_parcels_erase_task",
    "schedule": crontab(minute=47),
}

# --- payouts (billing.payouts) ------------------------------------------------------------------
# A payout batch takes every creator (or supplier) whose available balance is at least this.
VSTORE_PAYOUT_MINIMUM_FEN = env.int("VSTORE_PAYOUT_MINIMUM_FEN", 10_000)
# Batches above this total need the approval of two different staff members.
VSTORE_PAYOUT_DUAL_APPROVAL_FEN = env.int("VSTORE_PAYOUT_DUAL_APPROVAL_FEN", 5_000_000)
VSTORE_PAYOUT_PROVIDER = env.str("VSTORE_PAYOUT_PROVIDER", "sandbox")
# Celery queue for payout tasks; empty: the default queue.
VSTORE_PAYOUT_QUEUE = env.str("VSTORE_PAYOUT_QUEUE", "")
if VSTORE_PAYOUT_MINIMUM_FEN < 1 or VSTORE_PAYOUT_DUAL_APPROVAL_FEN < 0:
    raise ImproperlyConfigured(
        'Environment variable "VSTORE_PAYOUT_MINIMUM_FEN" or "VSTORE_PAYOUT_DUAL_APPROVAL_FEN" '
        "invalid: must be positive"
    )
CELERY_BEAT_SCHEDULE["payouts-resume"] = {
    "task": "billing.payouts.tasks.payouts_resume_sweep_task",
    "schedule": 300.0,
}

# --- statements and invoices (billing.documents) ------------------------------------------------
# Seconds a signed download link for a statement or an invoice stays valid.
VSTORE_DOCUMENT_LINK_MAX_AGE = env.int("VSTORE_DOCUMENT_LINK_MAX_AGE", 3600)
if VSTORE_DOCUMENT_LINK_MAX_AGE < 1:
    raise ImproperlyConfigured(
        'Environment variable "VSTORE_DOCUMENT_LINK_MAX_AGE" invalid: must be positive'
    )
# Last month's statements for every creator and supplier, on the 1st (Asia/Shanghai time).
CELERY_BEAT_SCHEDULE["statements-monthly"] = {
    "task": "billing.documents.tasks.statements_monthly_task",
    "schedule": crontab(minute=30, hour=3, day_of_month=1),
}

# --- limits: who is asking, and how often (core.clients, django-ratelimit) ----------------------
# Addresses or CIDR networks of the reverse proxies we run (e.g. "10.0.0.0/8,127.0.0.1"). Only a
# request from one of them has its X-Forwarded-For believed; empty: REMOTE_ADDR is the client.
VSTORE_TRUSTED_PROXIES: list[str] = env.list("VSTORE_TRUSTED_PROXIES", [])
try:
    from core.clients import trusted_networks_parse

    trusted_networks_parse(VSTORE_TRUSTED_PROXIES)
except ValueError as _exc:
    raise ImproperlyConfigured(
        f'Environment variable "VSTORE_TRUSTED_PROXIES" invalid: {_exc}'
    ) from _exc
# django-ratelimit counts atomically in Redis (cache.add, then cache.incr) by this address.
RATELIMIT_IP_META_KEY = "core.clients.client_address"
RATELIMIT_USE_CACHE = "default"
RATELIMIT_IPV6_MASK = 64  # one IPv6 subscriber gets a /64: counting single addresses is no limit
# Requests allowed per client (or per mobile/e-mail) and period: "count/period" (s, m, h, d).
VSTORE_RATES = {
    "order_lookup": "10/h",  # wrong order number + mobile guesses, per shop and client
    "code_verify": "20/h",  # sign-in code checks per shop and client (each code has 5 tries)
    "code_send_contact": "5/h",  # codes sent to one mobile or e-mail, across all shops
    "code_send_client": "10/h",  # codes one client may have sent, across all shops
    "login": "10/15m",  # password logins: platform, Django admin, a shop's Wagtail admin
    "signup": "10/h",  # sign-up posts per client (each good one makes a shop)
    "coupon_claim": "30/h",  # coupon claims (领券) per shop and client: a bot cannot empty a coupon
    "fan_data": "20/h",  # a signed-in fan's data downloads and deletion requests, per fan
    "analytics_beacon": "120/m",  # event beacons per shop and client (each: 1 view at most)
    "wx_jsconfig": "60/m",  # WeChat share configs per shop and client (one per page view)
    "poster": "20/m",  # share posters per shop and client (a new one is drawn with Pillow)
    "api": env.str("VSTORE_API_RATE", "600/m"),  # open API requests per token (shop or supplier)
}
# Stock held hostage: unpaid orders one fan (per shop) and one client (per shop) may hold, and
# the share of a SKU's stock one order may take (at least 1 unit, at most 99).
VSTORE_ORDER_UNPAID_PER_FAN = env.int("VSTORE_ORDER_UNPAID_PER_FAN", 3)
VSTORE_ORDER_UNPAID_PER_CLIENT = env.int("VSTORE_ORDER_UNPAID_PER_CLIENT", 10)
VSTORE_ORDER_STOCK_SHARE_PERCENT = env.int("VSTORE_ORDER_STOCK_SHARE_PERCENT", 25)
if (
    VSTORE_ORDER_UNPAID_PER_FAN < 1
    or VSTORE_ORDER_UNPAID_PER_CLIENT < 1
    or not 1 <= VSTORE_ORDER_STOCK_SHARE_PERCENT <= 100
):
    raise ImproperlyConfigured(
        'Environment variable "VSTORE_ORDER_UNPAID_PER_FAN", "VSTORE_ORDER_UNPAID_PER_CLIENT" or '
        '"VSTORE_ORDER_STOCK_SHARE_PERCENT" invalid: limits start at 1, the share is 1..100'
    )
