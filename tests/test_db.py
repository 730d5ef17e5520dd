"""shegong.db: the same SQLAlchemy Core code runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, UniqueConstraint, func, insert, select
from sqlalchemy.exc import IntegrityError

from shegong import db

pytestmark = pytest.mark.integration


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, shegong_home):
    if request.param == "sqlite":
        yield db.database_url()
    else:
        yield request.getfixturevalue("postgres_url")
    db.dispose_engines()


def test_tables_created_once_and_constraints_hold(url):
    meta = MetaData()
    t = Table("demo_rows", meta, Column("id", Integer, primary_key=True), Column("name", String(50), nullable=False),
              UniqueConstraint("name"))
    engine = db.ensure_tables(meta, url)
    assert db.ensure_tables(meta, url) is engine
    with engine.begin() as conn:
        conn.execute(t.delete())
        conn.execute(insert(t), [{"name": "王阿婆"}, {"name": "李大爷"}])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(insert(t).values(name="王阿婆"))
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t)).scalar_one() == 2
        assert conn.execute(select(t.c.name).order_by(t.c.name)).scalars().all() == sorted(["王阿婆", "李大爷"])


def test_default_url_is_the_app_database_under_the_data_dir(shegong_home):
    assert db.database_url() == f"sqlite:///{shegong_home / 'app.sqlite'}"
