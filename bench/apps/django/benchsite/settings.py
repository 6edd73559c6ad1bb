"""Settings of the bench's Django site: production-like (DEBUG off, the usual middleware), no database."""
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = 'bench-only-not-secret'
DEBUG = False
ALLOWED_HOSTS = ['127.0.0.1', 'localhost']

INSTALLED_APPS = []

MIDDLEWARE = [
    'django.middleware.security.SecurityMiddleware',
    'django.middleware.common.CommonMiddleware',
    'django.middleware.csrf.CsrfViewMiddleware',
    'django.middleware.clickjacking.XFrameOptionsMiddleware',
]

ROOT_URLCONF = 'benchsite.urls'

TEMPLATES = [
    {
        'BACKEND': 'django.template.backends.django.DjangoTemplates',
        'DIRS': [BASE_DIR / 'templates'],
        'OPTIONS': {},  # with DEBUG off, Django caches compiled templates (the cached loader)
    },
]

WSGI_APPLICATION = 'benchsite.wsgi.application'

DATABASES = {}

USE_I18N = False
USE_TZ = True
