"""SQL statements per dashboard query, for growing page sizes: it must stay flat."""

from __future__ import annotations

import asyncio

from sqlalchemy import event

from bench.common import DASHBOARD, database_url, seeded_client


async def main() -> None:
    client, db, token = await seeded_client(database_url(), 100)
    statements: list[str] = []
    event.listen(
        db.engine.sync_engine, "before_cursor_execute", lambda *args: statements.append(args[2])
    )
    print(f"{'accounts':>9} {'statements':>11}")
    for size in (1, 5, 25, 50, 100):
        statements.clear()
        response = await client.post(
            "/graphql",
            json={"query": DASHBOARD, "variables": {"first": size}},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200 and "errors" not in response.json(), response.text
        print(f"{size:>9} {len(statements):>11}")
    await client.aclose()
    await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
