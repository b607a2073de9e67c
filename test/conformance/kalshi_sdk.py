"""Kalshi's official Python SDK (kalshi-python-sync, unmodified) against the Kalshi simulator: every
call the project's executor, settlement and discovery make, and those a user's own script makes.
The SDK validates every answer against the models generated from Kalshi's OpenAPI document, so a
missing or mistyped field fails the call.

Environment (set by the harness): KALSHI_URL (REST base with /trade-api/v2), KALSHI_KEY_ID,
KALSHI_KEY_FILE (RSA private key PEM), KALSHI_TICKER, KALSHI_EVENT, KALSHI_SERIES (the scenario's
market, its event and series), REPORT (where the JSON report goes).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import kalshi_python_sync as k
from kalshi_python_sync.exceptions import ApiException

from recorder import CheckFailed, Recorder, env, is_http_error


def main() -> None:
    config = k.Configuration(host=env("KALSHI_URL"))
    config.api_key_id = env("KALSHI_KEY_ID")
    config.private_key_pem = Path(env("KALSHI_KEY_FILE")).read_text()
    client = k.KalshiClient(config)
    ticker, event, series = env("KALSHI_TICKER"), env("KALSHI_EVENT"), env("KALSHI_SERIES")
    # Kalshi's basic tier allows 20 reads a second: 10 calls a second leaves room for a call that
    # reads twice. Unpaced, the script's reads come faster than that, and get_settlements met 429.
    rec = Recorder("kalshi (python)", f"kalshi-python-sync {k.__version__}", env("REPORT"), min_interval_s=0.1)

    # -- public market data --------------------------------------------------------------------
    rec.call("get_exchange_status", "GET /exchange/status", client.get_exchange_status)
    rec.call("get_markets", "GET /markets", lambda: client.get_markets(limit=100), check=non_empty("markets"))
    rec.call("get_markets (event_ticker, status=open)", "GET /markets?event_ticker&status", lambda: client.get_markets(event_ticker=event, status="open"), check=non_empty("markets"))
    rec.call("get_market", "GET /markets/{ticker}", lambda: client.get_market(ticker=ticker))
    rec.call(
        "get_events (series, status=open, with_nested_markets)",
        "GET /events?series_ticker&status&with_nested_markets",
        lambda: client.get_events(series_ticker=series, status="open", with_nested_markets=True, limit=200),
        check=nested_markets,
    )
    rec.call("get_event", "GET /events/{event_ticker}", lambda: client.get_event(event_ticker=event))
    rec.call("get_series", "GET /series/{series_ticker}", lambda: client.get_series(series_ticker=series), check=series_fees)
    rec.call("get_market_orderbook", "GET /markets/{ticker}/orderbook", lambda: client.get_market_orderbook(ticker=ticker), check=book_sides)
    rec.call("get_market_orderbooks", "GET /markets/orderbooks", lambda: client.get_market_orderbooks(tickers=[ticker]))
    rec.call("get_trades", "GET /markets/trades", lambda: client.get_trades(ticker=ticker, limit=100))

    # -- portfolio -------------------------------------------------------------------------------
    rec.call("get_balance", "GET /portfolio/balance", client.get_balance)
    best_bid, _ = raw_book(client, ticker)
    since = int(time.time()) - 5

    # A resting bid well below the market: placed, read back, cancelled, and cancelled again.
    rest_price = max(0.01, round(best_bid - 0.10, 2))
    resting = rec.call(
        "create_order_v2 (good_till_canceled, resting)",
        "POST /portfolio/events/orders",
        lambda: client.create_order_v2(ticker=ticker, client_order_id=str(uuid.uuid4()), side="bid", count="2.00", price=f"{rest_price:.4f}", time_in_force="good_till_canceled", self_trade_prevention_type="taker_at_cross"),
    )
    order_id = getattr(resting, "order_id", None)
    rec.call("get_order", "GET /portfolio/orders/{order_id}", lambda: client.get_order(order_id=order_id), check=status_is("resting"), needs=order_id)
    rec.call("get_orders (ticker, status=resting)", "GET /portfolio/orders?ticker&status", lambda: client.get_orders(ticker=ticker, status="resting"), check=lists_order(order_id), needs=order_id)
    rec.call("cancel_order_v2", "DELETE /portfolio/events/orders/{order_id}", lambda: client.cancel_order_v2(order_id=order_id), needs=order_id)
    rec.call(
        "cancel_order_v2 again (already cancelled: 404)",
        "DELETE /portfolio/events/orders/{order_id}",
        lambda: client.cancel_order_v2(order_id=order_id),
        expect_error=lambda e: is_http_error(e, 404, 404),
        needs=order_id,
    )
    # Refusals recorded on Kalshi's demo (docs/venue-conformance.md K11, K12).
    rec.call(
        "create_order_v2 beyond the balance is refused (400)",
        "POST /portfolio/events/orders",
        lambda: client.create_order_v2(ticker=ticker, client_order_id=str(uuid.uuid4()), side="bid", count="1000000.00", price=f"{rest_price:.4f}", time_in_force="immediate_or_cancel", self_trade_prevention_type="taker_at_cross"),
        expect_error=lambda e: is_http_error(e, 400, 400),
    )
    rec.call(
        "create_order_v2 post_only that would cross is refused (400)",
        "POST /portfolio/events/orders",
        lambda: client.create_order_v2(ticker=ticker, client_order_id=str(uuid.uuid4()), side="bid", count="1.00", price=f"{min(0.99, raw_book(client, ticker)[1] + 0.02):.4f}", time_in_force="good_till_canceled", self_trade_prevention_type="taker_at_cross", post_only=True),
        expect_error=lambda e: is_http_error(e, 400, 400),
    )

    # What the executor sends: immediate-or-cancel under its own client_order_id, priced two ticks
    # through the ask (the book moves while the script runs).
    cid = str(uuid.uuid4())
    limit = min(0.99, raw_book(client, ticker)[1] + 0.02)
    ioc = dict(ticker=ticker, client_order_id=cid, side="bid", count="1.00", price=f"{limit:.4f}", time_in_force="immediate_or_cancel", self_trade_prevention_type="taker_at_cross")
    taken = rec.call("create_order_v2 (immediate_or_cancel, marketable)", "POST /portfolio/events/orders", lambda: client.create_order_v2(**ioc), check=filled)
    taken_id = getattr(taken, "order_id", None)
    rec.call(
        "create_order_v2 repeated client_order_id (409)",
        "POST /portfolio/events/orders",
        lambda: client.create_order_v2(**ioc),
        expect_error=lambda e: is_http_error(e, 409, 409),
        needs=taken_id,
    )
    rec.call("get_fills (order_id)", "GET /portfolio/fills?order_id", lambda: client.get_fills(order_id=taken_id, limit=1000), check=non_empty("fills"), needs=taken_id)
    rec.call(
        "get_orders (ticker, min_ts, max_ts) finds the order by client_order_id",
        "GET /portfolio/orders?ticker&min_ts&max_ts",
        lambda: find_by_client_id(client, ticker, cid, since, int(time.time()) + 5),
        needs=taken_id,
    )
    rec.call("get_orders honours min_ts (none after the order)", "GET /portfolio/orders?ticker&min_ts", lambda: none_after(client, ticker), needs=taken_id)
    rec.call("get_positions", "GET /portfolio/positions", lambda: client.get_positions(ticker=ticker), check=holds(ticker), needs=taken_id)
    rec.call("get_balance after a fill (portfolio_value counts the position)", "GET /portfolio/balance", client.get_balance, check=portfolio_valued, needs=taken_id)
    rec.call("get_settlements", "GET /portfolio/settlements", lambda: client.get_settlements(limit=100))

    # Batches: two resting bids at once, then both cancelled at once.
    batch = rec.call(
        "batch_create_orders_v2",
        "POST /portfolio/events/orders/batched",
        lambda: client.batch_create_orders_v2(
            orders=[
                k.CreateOrderV2Request(ticker=ticker, client_order_id=str(uuid.uuid4()), side="bid", count="1.00", price=f"{rest_price:.4f}", time_in_force="good_till_canceled", self_trade_prevention_type="taker_at_cross")
                for _ in range(2)
            ]
        ),
    )
    batch_ids = [o.order_id for o in getattr(batch, "orders", []) or [] if getattr(o, "order_id", None)]
    rec.call(
        "batch_cancel_orders_v2",
        "DELETE /portfolio/events/orders/batched",
        lambda: client.batch_cancel_orders_v2(orders=[k.BatchCancelOrdersV2RequestOrdersInner(order_id=i) for i in batch_ids]),
        needs=batch_ids,
    )


# -- helpers and checks ---------------------------------------------------------------------------


def raw_book(client: Any, ticker: str) -> tuple[float, float]:
    """Best yes bid and ask from the raw orderbook (read without the SDK's models, which the
    orderbook call is tested with above): the order tests must run even if that model fails."""
    data = client.get_market_orderbook_without_preload_content(ticker=ticker).json()
    book = data.get("orderbook_fp") or {}
    bids = [float(p) for p, _ in book.get("yes_dollars") or []]
    no_bids = [float(p) for p, _ in book.get("no_dollars") or []]
    if not bids or not no_bids:
        raise SystemExit(f"the simulator's book for {ticker} has an empty side: {data}")
    return max(bids), round(1 - max(no_bids), 2)


def non_empty(field: str):
    def check(value: Any) -> str:
        items = getattr(value, field, None)
        if not items:
            raise CheckFailed(f"answer has no {field}")
        return f"{len(items)} {field}"

    return check


def nested_markets(value: Any) -> str:
    events = value.events or []
    if not events or not all(e.markets for e in events):
        raise CheckFailed("with_nested_markets=true: an event without its markets")
    return f"{len(events)} events"


def series_fees(value: Any) -> str:
    s = value.series
    return f"fee_type={s.fee_type} fee_multiplier={s.fee_multiplier}"


def book_sides(value: Any) -> str:
    book = value.orderbook_fp
    if not book.yes_dollars or not book.no_dollars:
        raise CheckFailed("orderbook_fp has an empty side")
    return f"{len(book.yes_dollars)} yes / {len(book.no_dollars)} no levels"


def status_is(expected: str):
    def check(value: Any) -> None:
        if value.order.status != expected:
            raise CheckFailed(f"order status {value.order.status}, expected {expected}")

    return check


def lists_order(order_id: str):
    def check(value: Any) -> None:
        if order_id not in [o.order_id for o in value.orders]:
            raise CheckFailed("the resting order is not listed")

    return check


def filled(value: Any) -> str:
    if float(value.fill_count) <= 0:
        raise CheckFailed(f"a marketable IOC bid did not fill: {value}")
    return f"fill_count={value.fill_count} average_fee_paid={value.average_fee_paid}"


def find_by_client_id(client: Any, ticker: str, cid: str, min_ts: int, max_ts: int) -> str:
    """The reconciliation that does not rely on an undocumented client_order_id filter: page
    through the ticker's orders in a time window and match client_order_id."""
    cursor = None
    for page in range(1, 51):
        answer = client.get_orders(ticker=ticker, min_ts=min_ts, max_ts=max_ts, limit=100, cursor=cursor)
        if any(o.client_order_id == cid for o in answer.orders):
            return f"found on page {page}"
        cursor = answer.cursor
        if not cursor:
            break
    raise CheckFailed("the order is not among the ticker's orders in its time window")


def none_after(client: Any, ticker: str) -> str:
    later = int(time.time()) + 3600
    answer = client.get_orders(ticker=ticker, min_ts=later)
    if answer.orders:
        raise CheckFailed(f"min_ts={later} (an hour ahead) still lists {len(answer.orders)} orders: the filter is ignored")
    return ""


def holds(ticker: str):
    def check(value: Any) -> str:
        mine = [p for p in value.market_positions if p.ticker == ticker]
        if not mine or float(mine[0].position_fp) == 0:
            raise CheckFailed("no position after a filled buy")
        if not value.event_positions:
            raise CheckFailed("event_positions is empty while the event holds a position")
        return f"position_fp={mine[0].position_fp}"

    return check


def portfolio_valued(value: Any) -> str:
    if not value.portfolio_value:
        raise CheckFailed("portfolio_value is 0 while the account holds contracts")
    return f"balance={value.balance} portfolio_value={value.portfolio_value}"


if __name__ == "__main__":
    try:
        main()
    except ApiException as error:  # a setup read failed outside any recorded call
        raise SystemExit(f"kalshi harness stopped: HTTP {error.status}") from None
