"""Polymarket's official Python client (py-clob-client-v2, unmodified) against the Polymarket
simulator: every CLOB call the project's executor and settlement make, and those a user's own
script makes. The client hands most answers back as plain dicts, so each is also checked against
the shape the official TypeScript client declares for it (shapes.json).

Environment (set by the harness): POLY_URL (CLOB base), POLY_CREDS_FILE (JSON: apiKey, secret,
passphrase, privateKey), POLY_YES_TOKEN / POLY_NO_TOKEN (the scenario's market), REPORT.
"""

from __future__ import annotations

import json
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

from py_clob_client_v2 import ClobClient
from py_clob_client_v2.clob_types import (
    ApiCreds,
    AssetType,
    BalanceAllowanceParams,
    BookParams,
    MarketOrderArgsV2,
    OpenOrderParams,
    OrderArgsV2,
    OrderMarketCancelParams,
    OrderPayload,
    OrderType,
    TradeParams,
)

from recorder import CheckFailed, Recorder, env, expect_shape, is_http_error, shape_problems

POLYGON = 137
TICKS = {"0.1", "0.01", "0.005", "0.0025", "0.001", "0.0001"}


def main() -> None:
    host = env("POLY_URL")
    secrets = json.loads(Path(env("POLY_CREDS_FILE")).read_text())
    creds = ApiCreds(api_key=secrets["apiKey"], api_secret=secrets["secret"], api_passphrase=secrets["passphrase"])
    client = ClobClient(host, chain_id=POLYGON, key=secrets["privateKey"], creds=creds, signature_type=0)
    yes, no = env("POLY_YES_TOKEN"), env("POLY_NO_TOKEN")
    rec = Recorder("polymarket (python)", f"py-clob-client-v2 {version('py-clob-client-v2')}", env("REPORT"))

    # -- L1: API keys from the wallet's signature ----------------------------------------------------
    fresh = ClobClient(host, chain_id=POLYGON, key=secrets["privateKey"], signature_type=0)
    created = rec.call("create_api_key (L1)", "POST /auth/api-key", lambda: fresh.create_api_key(nonce=1), check=usable_creds(host, secrets["privateKey"]))
    rec.call("derive_api_key (L1)", "GET /auth/derive-api-key", lambda: fresh.derive_api_key(nonce=1), check=same_creds(created), needs=created)
    rec.call("create_or_derive_api_key (L1)", "POST /auth/api-key, GET /auth/derive-api-key", lambda: fresh.create_or_derive_api_key(nonce=1), check=same_creds(created), needs=created)

    # -- public market data ----------------------------------------------------------------------
    rec.call("get_ok", "GET /ok", client.get_ok)
    rec.call("get_server_time", "GET /time", client.get_server_time, check=is_int)
    book = rec.call("get_order_book", "GET /book", lambda: client.get_order_book(yes), check=expect_shape("OrderBookSummary"))
    condition = book.get("market") if isinstance(book, dict) else None
    rec.call("get_order_books", "POST /books", lambda: client.get_order_books([BookParams(token_id=yes), BookParams(token_id=no)]), check=expect_shape("OrderBookSummary"))
    rec.call("get_markets", "GET /markets", client.get_markets, check=page_of("ClobMarket"))
    rec.call("get_sampling_markets", "GET /sampling-markets", client.get_sampling_markets, check=page_of("ClobMarket"))
    rec.call("get_simplified_markets", "GET /simplified-markets", client.get_simplified_markets, check=page_of("SimplifiedMarket"))
    rec.call("get_sampling_simplified_markets", "GET /sampling-simplified-markets", client.get_sampling_simplified_markets, check=page_of("SimplifiedMarket"))
    market = rec.call("get_market", "GET /markets/{condition_id}", lambda: client.get_market(condition), check=expect_shape("ClobMarket"), needs=condition)
    info = rec.call("get_clob_market_info", "GET /clob-markets/{condition_id}", lambda: client.get_clob_market_info(condition), check=expect_shape("MarketDetails"), needs=condition)
    rec.call("get_midpoint", "GET /midpoint", lambda: client.get_midpoint(yes), check=keyed_decimal("mid", "mid_price"))
    rec.call("get_midpoints", "POST /midpoints", lambda: client.get_midpoints([BookParams(token_id=yes), BookParams(token_id=no)]), check=per_token(yes, no))
    rec.call("get_price", "GET /price", lambda: client.get_price(yes, "BUY"), check=keyed_decimal("price"))
    rec.call("get_prices", "POST /prices", lambda: client.get_prices([BookParams(token_id=yes, side="BUY"), BookParams(token_id=no, side="SELL")]), check=per_token(yes, no))
    rec.call("get_spread", "GET /spread", lambda: client.get_spread(yes), check=keyed_decimal("spread"))
    rec.call("get_spreads", "POST /spreads", lambda: client.get_spreads([BookParams(token_id=yes), BookParams(token_id=no)]), check=per_token(yes, no))
    rec.call("get_last_trade_price", "GET /last-trade-price", lambda: client.get_last_trade_price(yes), check=keyed_decimal("price"))
    rec.call("get_last_trades_prices", "POST /last-trades-prices", lambda: client.get_last_trades_prices([BookParams(token_id=yes), BookParams(token_id=no)]), check=last_trades(yes, no))
    rec.call("get_tick_size", "GET /tick-size", lambda: client.get_tick_size(yes), check=tick)
    rec.call("get_neg_risk", "GET /neg-risk", lambda: client.get_neg_risk(yes), check=is_bool)
    fee_bps = rec.call("get_fee_rate_bps", "GET /fee-rate", lambda: client.get_fee_rate_bps(yes), check=is_int)
    rec.call("the market's fee declarations agree", "GET /fee-rate, /markets/{id}, /clob-markets/{id}", lambda: (market, info, fee_bps), check=fee_declarations)

    # -- account -----------------------------------------------------------------------------------
    rec.call("get_balance_allowance (COLLATERAL)", "GET /balance-allowance", lambda: client.get_balance_allowance(BalanceAllowanceParams(asset_type=AssetType.COLLATERAL)), check=expect_shape("BalanceAllowanceResponse"))
    rec.call("get_balance_allowance (CONDITIONAL)", "GET /balance-allowance", lambda: client.get_balance_allowance(BalanceAllowanceParams(asset_type=AssetType.CONDITIONAL, token_id=yes)), check=expect_shape("BalanceAllowanceResponse"))
    rec.call("update_balance_allowance (COLLATERAL)", "GET /balance-allowance/update", lambda: client.update_balance_allowance(BalanceAllowanceParams(asset_type=AssetType.COLLATERAL)))

    # -- orders ------------------------------------------------------------------------------------
    bid, _ = best(client, yes)
    low = max(0.01, round(bid - 0.10, 2))
    resting = lambda: client.create_and_post_order(OrderArgsV2(token_id=yes, price=low, size=10, side="BUY"))  # noqa: E731
    placed = rec.call("create_and_post_order (limit GTC, resting)", "POST /order", resting, check=order_status("live"))
    order_id = placed.get("orderID") if isinstance(placed, dict) else None
    rec.call("get_order", "GET /data/order/{id}", lambda: client.get_order(order_id), check=expect_shape("OpenOrder"), needs=order_id)
    rec.call("get_open_orders", "GET /data/orders", lambda: client.get_open_orders(OpenOrderParams(asset_id=yes)), check=lists(order_id, "OpenOrder"), needs=order_id)
    rec.call("cancel_order", "DELETE /order", lambda: client.cancel_order(OrderPayload(orderID=order_id)), check=cancelled(order_id), needs=order_id)
    rec.call("cancel_order again (already cancelled)", "DELETE /order", lambda: client.cancel_order(OrderPayload(orderID=order_id)), check=not_cancelled(order_id), needs=order_id)

    two = [rest_id(client, yes, low) for _ in range(2)]
    rec.call("cancel_orders", "DELETE /orders", lambda: client.cancel_orders(two), check=cancelled(*two), needs=all(two))
    one = rest_id(client, yes, low)
    rec.call("cancel_all", "DELETE /cancel-all", client.cancel_all, check=cancelled(one), needs=one)
    one = rest_id(client, yes, low)
    rec.call("cancel_market_orders", "DELETE /cancel-market-orders", lambda: client.cancel_market_orders(OrderMarketCancelParams(market=condition)), check=cancelled(one), needs=condition and one)

    # What the executor sends: a marketable limit (two ticks of room: the book moves), fill-and-kill.
    # The client then waits (up to 30 s) for each trade to reach a transaction hash or FAILED.
    limit = min(0.99, round(best(client, yes)[1] + 0.02, 2))
    taken = rec.call(
        "create_and_post_order (limit FAK, marketable)",
        "POST /order",
        lambda: client.create_and_post_order(OrderArgsV2(token_id=yes, price=limit, size=5, side="BUY"), order_type=OrderType.FAK),
        check=settled_match,
    )
    trade_ids = taken.get("tradeIDs") if isinstance(taken, dict) else None
    rec.call("get_trades", "GET /data/trades", client.get_trades, check=expect_shape("Trade"), needs=trade_ids)
    rec.call("get_trades (id): MATCHED → MINED → CONFIRMED with transaction_hash", "GET /data/trades?id", lambda: until_confirmed(client, trade_ids[0]), check=confirmed, needs=trade_ids)

    market_buy = lambda order_type: lambda: client.create_and_post_market_order(MarketOrderArgsV2(token_id=yes, amount=5, side="BUY", order_type=order_type), order_type=order_type)  # noqa: E731
    rec.call("create_and_post_market_order (BUY FAK)", "GET /markets-by-token, POST /order", market_buy(OrderType.FAK), check=settled_match)
    rec.call("create_and_post_market_order (BUY FOK)", "GET /markets-by-token, POST /order", market_buy(OrderType.FOK), check=settled_match)
    rec.call(
        "create_and_post_market_order (SELL FOK, shares held)",
        "POST /order",
        lambda: client.create_and_post_market_order(MarketOrderArgsV2(token_id=yes, amount=5, side="SELL", order_type=OrderType.FOK), order_type=OrderType.FOK),
        check=settled_match,
        needs=trade_ids,
    )

    # Balances and allowances: the venue refuses what the account cannot pay for or does not hold.
    rec.call(
        "unfunded BUY (10M shares) is refused: not enough balance / allowance",
        "POST /order",
        lambda: client.create_and_post_order(OrderArgsV2(token_id=yes, price=low, size=10_000_000, side="BUY")),
        expect_error=balance_refusal,
    )
    rec.call(
        "SELL of shares not held is refused: not enough balance / allowance",
        "POST /order",
        lambda: client.create_and_post_order(OrderArgsV2(token_id=no, price=0.99, size=1_000, side="SELL")),
        expect_error=balance_refusal,
    )


# -- helpers and checks ---------------------------------------------------------------------------


def best(client: ClobClient, token: str) -> tuple[float, float]:
    book = client.get_order_book(token)
    bids = [float(level["price"]) for level in book.get("bids", [])]
    asks = [float(level["price"]) for level in book.get("asks", [])]
    if not bids or not asks:
        raise SystemExit(f"the simulator's book for {token} has an empty side")
    return max(bids), min(asks)


def rest_id(client: ClobClient, token: str, price: float) -> str | None:
    """A resting order to cancel (placing it is tested above; here it only has to exist)."""
    try:
        return client.create_and_post_order(OrderArgsV2(token_id=token, price=price, size=5, side="BUY"))["orderID"]
    except Exception:  # noqa: BLE001 - the cancel that needs it is recorded as not run
        return None


def usable_creds(host: str, key: str):
    def check(value: ApiCreds) -> str:
        if not (value.api_key and value.api_secret and value.api_passphrase):
            raise CheckFailed("empty credentials")
        ClobClient(host, chain_id=POLYGON, key=key, creds=value, signature_type=0).get_open_orders()
        return "the new key authenticates L2 calls"

    return check


def same_creds(expected: Any):
    def check(value: ApiCreds) -> None:
        if (value.api_key, value.api_secret, value.api_passphrase) != (expected.api_key, expected.api_secret, expected.api_passphrase):
            raise CheckFailed("the same wallet and nonce gave other credentials than create_api_key")

    return check


def is_int(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CheckFailed(f"expected an integer, got {value!r}")
    return str(value)


def is_bool(value: Any) -> str:
    if not isinstance(value, bool):
        raise CheckFailed(f"expected a boolean, got {value!r}")
    return str(value)


def tick(value: Any) -> str:
    if value not in TICKS:
        raise CheckFailed(f"tick size {value!r} is not one of {sorted(TICKS)}")
    return value


def decimal_text(value: Any) -> bool:
    try:
        return isinstance(value, str) and float(value) >= 0
    except ValueError:
        return False


def keyed_decimal(*keys: str):
    """{key: "0.45"}; where the docs disagree on the key, any of those named."""

    def check(value: Any) -> str:
        found = [k for k in keys if isinstance(value, dict) and decimal_text(value.get(k))]
        if not found:
            raise CheckFailed(f"expected {{{' or '.join(keys)}: decimal string}}, got {value!r}"[:300])
        return f"{found[0]}={value[found[0]]}"

    return check


def per_token(*tokens: str):
    """Batch price answers are keyed by token id."""

    def check(value: Any) -> None:
        if not isinstance(value, dict) or any(t not in value for t in tokens):
            raise CheckFailed(f"expected an object keyed by each token id, got {value!r}"[:300])

    return check


def last_trades(*tokens: str):
    def check(value: Any) -> None:
        if not isinstance(value, list) or sorted(str(i.get("token_id")) for i in value if isinstance(i, dict)) != sorted(tokens):
            raise CheckFailed(f"expected [{{token_id, price, side}}] for each token, got {value!r}"[:300])

    return check


def page_of(shape: str):
    def check(value: Any) -> str:
        problems = shape_problems(value, "PaginationPayload")
        for i, item in enumerate((value or {}).get("data", [])[:3] if isinstance(value, dict) else []):
            shape_problems(item, shape, f"data[{i}]", problems)
        if problems:
            raise CheckFailed(f"answer is not a page of {shape}: " + "; ".join(problems[:12]))
        return f"{value['count']} on the first page"

    return check


def order_status(expected: str):
    def check(value: Any) -> str:
        expect_shape("OrderResponse")(value)
        if not value.get("success") or value.get("status") != expected:
            raise CheckFailed(f"expected a successful '{expected}' order, got {value!r}"[:300])
        return f"status={value['status']}"

    return check


def lists(order_id: str, shape: str):
    def check(value: Any) -> None:
        expect_shape(shape)(value)
        if order_id not in [o.get("id") for o in value]:
            raise CheckFailed("the resting order is not listed")

    return check


def cancelled(*ids: str):
    def check(value: Any) -> None:
        if not isinstance(value, dict) or not set(ids) <= set(value.get("canceled") or []):
            raise CheckFailed(f"expected {{canceled: [the resting orders], not_canceled: {{}}}}, got {value!r}"[:300])

    return check


def not_cancelled(order_id: str):
    def check(value: Any) -> str:
        reasons = value.get("not_canceled") if isinstance(value, dict) else None
        if not isinstance(reasons, dict) or order_id not in reasons:
            raise CheckFailed(f"expected the order under not_canceled with a reason, got {value!r}"[:300])
        return f"not_canceled: {reasons[order_id]}"

    return check


def settled_match(value: Any) -> str:
    """A matched order comes back with its trades' transaction hashes once they are mined."""
    expect_shape("OrderResponse")(value)
    if not value.get("success") or value.get("status") != "matched":
        raise CheckFailed(f"expected a matched order, got {value!r}"[:300])
    if not value.get("transactionsHashes"):
        raise CheckFailed(
            f"matched, but no transactionsHashes after the client's 30 s wait: trades {value.get('tradeIDs')} never reached a transaction_hash (MINED/CONFIRMED) or FAILED"
        )
    return f"takingAmount={value['takingAmount']} makingAmount={value['makingAmount']}"


def until_confirmed(client: ClobClient, trade_id: str, timeout: float = 15.0) -> Any:
    """The trade, read again (as a client waiting for finality does) until it is final or the time is up:
    a mined trade is confirmed some blocks later."""
    deadline = time.monotonic() + timeout
    while True:
        trades = client.get_trades(TradeParams(id=trade_id))
        status = trades[0].get("status") if isinstance(trades, list) and trades else None
        if status in ("CONFIRMED", "FAILED") or time.monotonic() > deadline:
            return trades
        time.sleep(0.25)


def confirmed(value: Any) -> str:
    trade = value[0] if isinstance(value, list) and value else {}
    if trade.get("status") != "CONFIRMED" or not trade.get("transaction_hash"):
        raise CheckFailed(f"trade status {trade.get('status')!r}, transaction_hash {trade.get('transaction_hash')!r}: it never left MATCHED")
    expect_shape("Trade")(value)
    return "CONFIRMED"


def fee_declarations(answers: Any) -> str:
    """On the venue /fee-rate's base_fee and the market's taker_base_fee are the same flag-like
    value (1000 where fees are charged, 0 where not) and fd.r is the rate actually charged
    (docs/venue-conformance.md, fees)."""
    market, info, base_fee = answers
    if not isinstance(market, dict) or not isinstance(info, dict) or base_fee is None:
        raise CheckFailed("not checked: /markets/{id}, /clob-markets/{id} or /fee-rate failed above")
    taker = market.get("taker_base_fee")
    rate = (info.get("fd") or {}).get("r", 0)
    if taker != base_fee:
        raise CheckFailed(f"/fee-rate base_fee={base_fee} but /markets taker_base_fee={taker}")
    if (rate > 0) != (base_fee > 0):
        raise CheckFailed(f"fd.r={rate} but base_fee={base_fee}: one says the market charges takers, the other not")
    return f"base_fee={base_fee} fd.r={rate}"


def balance_refusal(error: BaseException) -> bool:
    return is_http_error(error, 400, 400) and "not enough balance" in str(getattr(error, "error_msg", "")).lower()


if __name__ == "__main__":
    main()
