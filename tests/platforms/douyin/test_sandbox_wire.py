"""The Douyin sandbox's wire behaviour (docs/platforms/douyin.md), spoken to directly over HTTP."""

from __future__ import annotations

import pytest
import requests

from sandbox.douyin import seed_credentials
from tests.platforms.douyin.support import new_open_id

V1 = "/api/douyin/v1/video"


class Client:
    """Raw calls as one seeded account."""

    def __init__(self, base: str, credentials: dict[str, str]) -> None:
        self.base = base
        self.credentials = credentials
        self.http = requests.Session()

    def call(
        self, method: str, path: str, *, params=None, token: str | None = None, **kw
    ) -> requests.Response:
        query = {"open_id": self.credentials["open_id"], **(params or {})}
        headers = {"access-token": token or self.credentials["access_token"]}
        return self.http.request(
            method, self.base + path, params=query, headers=headers, timeout=10, **kw
        )

    def data(self, method: str, path: str, **kw) -> dict:
        response = self.call(method, path, **kw)
        assert response.status_code == 200
        return response.json()["data"]

    def upload(self, content: bytes = b"\x00" * 100) -> str:
        data = self.data("POST", f"{V1}/upload_video/", files={"video": ("a.mp4", content)})
        return data["video"]["video_id"]

    def part(self, upload_id: str, number: int, content: bytes) -> dict:
        return self.data(
            "POST",
            f"{V1}/upload_video_part/",
            params={"upload_id": upload_id, "part_number": number},
            files={"video": ("a.mp4", content)},
        )


@pytest.fixture
def client(api_base) -> Client:
    return Client(api_base, seed_credentials(new_open_id()))


def test_content_envelope_on_success_and_error(client):
    body = client.call("POST", f"{V1}/init_video_part_upload/", json={}).json()
    assert body["data"]["error_code"] == 0 and body["data"]["upload_id"]
    assert body["extra"]["error_code"] == 0 and body["extra"]["logid"]
    assert body["extra"]["now"] > 1_600_000_000_000  # milliseconds
    response = client.call("POST", f"{V1}/create_video/", json={"video_id": "v0200fnope"})
    assert response.status_code == 200  # business errors ride on HTTP 200
    error = response.json()
    assert error["data"]["error_code"] == error["extra"]["error_code"] == 2100005
    assert error["extra"]["log_id"]


def test_refresh_endpoint_takes_forms_only(client):
    url = client.base + "/oauth/refresh_token/"
    form = {
        "client_key": "k",
        "grant_type": "refresh_token",
        "refresh_token": client.credentials["refresh_token"],
    }
    as_json = requests.post(url, json=form, timeout=10).json()
    assert as_json["message"] == "error" and as_json["data"]["error_code"] == 10002
    answer = requests.post(url, data=form, timeout=10).json()
    assert answer["message"] == "success"
    assert answer["data"]["access_token"].startswith("act.")
    assert answer["data"]["expires_in"] == 1_296_000
    assert answer["data"]["open_id"] == client.credentials["open_id"]
    assert (
        client.data("GET", f"{V1}/video_list/", token=answer["data"]["access_token"])["list"] == []
    )


def test_refresh_after_revocation_or_expiry_is_refused(sandbox, client):
    url = client.base + "/oauth/refresh_token/"
    form = {
        "client_key": "k",
        "grant_type": "refresh_token",
        "refresh_token": client.credentials["refresh_token"],
    }
    assert requests.post(url, data=form, timeout=10).json()["data"]["error_code"] == 0
    sandbox.state.clock.advance(30 * 86_400)
    assert requests.post(url, data=form, timeout=10).json()["data"]["error_code"] == 10010
    unknown = {**form, "refresh_token": "rft.made-up"}
    assert requests.post(url, data=unknown, timeout=10).json()["data"]["error_code"] == 10010


@pytest.mark.parametrize(
    ("token", "open_id", "code"),
    [
        ("clt.app-token", "mine", 28001003),  # an app token where a user token belongs
        ("", "mine", 2100005),
        ("mine", "", 2100005),
    ],
)
def test_content_calls_need_a_user_token_and_open_id(client, token, open_id, code):
    credentials = client.credentials
    headers = {"access-token": credentials["access_token"] if token == "mine" else token}
    params = {"open_id": credentials["open_id"] if open_id == "mine" else open_id}
    response = requests.get(
        client.base + f"{V1}/video_list/", params=params, headers=headers, timeout=10
    )
    assert response.json()["data"]["error_code"] == code


def test_other_credentials_for_a_known_account_are_refused(api_base, client):
    client.data("GET", f"{V1}/video_list/")
    impostor = seed_credentials(client.credentials["open_id"])
    response = client.call("GET", f"{V1}/video_list/", token=impostor["access_token"])
    assert response.json()["data"]["error_code"] == 28001003


def test_single_upload_over_the_limit_is_a_gateway_413(client, douyin_settings):
    douyin_settings.single_upload_max_bytes = 1000
    response = client.call("POST", f"{V1}/upload_video/", files={"video": ("a.mp4", b"x" * 2000)})
    assert response.status_code == 413


def test_chunked_upload_rules(sandbox, client, douyin_settings):
    douyin_settings.min_chunk_bytes = 10
    upload_id = client.data("POST", f"{V1}/init_video_part_upload/", json={})["upload_id"]
    assert client.part(upload_id, 0, b"x" * 10)["error_code"] == 2100005
    assert client.part(upload_id, 1, b"x" * 10)["error_code"] == 0
    assert client.part(upload_id, 3, b"x" * 5)["error_code"] == 0
    complete = f"{V1}/complete_video_part_upload/"
    assert (
        client.data("POST", complete, params={"upload_id": upload_id}, json={})["error_code"]
        == 2100005
    )  # part 2 missing
    assert client.part(upload_id, 2, b"x" * 4)["error_code"] == 0
    assert (
        client.data("POST", complete, params={"upload_id": upload_id}, json={})["error_code"]
        == 2100005
    )  # part 2 is below the minimum and not the last
    assert client.part(upload_id, 2, b"x" * 10)["error_code"] == 0
    video = client.data("POST", complete, params={"upload_id": upload_id}, json={})["video"]
    assert video["video_id"].startswith("v0200f")
    stale = client.data("POST", f"{V1}/init_video_part_upload/", json={})["upload_id"]
    sandbox.state.clock.advance(7200)
    assert client.part(stale, 1, b"x" * 10)["error_code"] == 2100005  # upload_id expired


def test_video_id_is_single_use_and_anchors_are_exclusive(client):
    video_id = client.upload()
    both = client.data(
        "POST",
        f"{V1}/create_video/",
        json={"video_id": video_id, "micro_app_id": "m", "poi_id": "p"},
    )
    assert both["error_code"] == 2100005
    first = client.data("POST", f"{V1}/create_video/", json={"video_id": video_id, "text": "一"})
    assert first["item_id"].startswith("@")
    again = client.data("POST", f"{V1}/create_video/", json={"video_id": video_id, "text": "二"})
    assert again["error_code"] == 2100005


def test_review_then_delete_removes_the_item_from_data_and_list(sandbox, client, douyin_settings):
    item_id = client.data(
        "POST", f"{V1}/create_video/", json={"video_id": client.upload(), "text": "防汛 d=dlv_1"}
    )["item_id"]
    [pending] = client.data("POST", f"{V1}/video_data/", json={"item_ids": [item_id]})["list"]
    assert (pending["video_status"], pending["is_reviewed"], pending["share_url"]) == (4, False, "")
    sandbox.state.clock.advance(douyin_settings.review_delay_s)
    [published] = client.data("GET", f"{V1}/video_list/")["list"]
    assert (published["video_status"], published["is_reviewed"]) == (1, True)
    assert published["title"] == "防汛 d=dlv_1"
    legacy = {
        "open_id": client.credentials["open_id"],
        "access_token": client.credentials["access_token"],
    }
    deleted = requests.post(
        client.base + "/video/delete/", params=legacy, json={"item_id": item_id}, timeout=10
    ).json()
    assert deleted["data"]["error_code"] == 0
    again = requests.post(
        client.base + "/video/delete/", params=legacy, json={"item_id": item_id}, timeout=10
    ).json()
    assert again["data"]["error_code"] == 2100005
    assert client.data("POST", f"{V1}/video_data/", json={"item_ids": [item_id]})["list"] == []
    assert client.data("GET", f"{V1}/video_list/")["list"] == []
    assert sandbox.posts(platform="douyin", state="deleted")[0]["remote_id"] == item_id


def test_settings_endpoint(api_base):
    assert requests.get(api_base + "/_sandbox/settings", timeout=10).json()["review_delay_s"] == 2
    changed = requests.post(
        api_base + "/_sandbox/settings",
        json={"review_delay_s": 0, "reject_words": ["谣言"]},
        timeout=10,
    )
    assert changed.json()["reject_words"] == ["谣言"]
    refused = requests.post(api_base + "/_sandbox/settings", json={"nope": 1}, timeout=10)
    assert refused.status_code == 400


def test_timeout_fault_stalls_after_the_work_is_done(sandbox, client):
    video_id = client.upload()
    sandbox.config(faults={"timeout": 1.0}, timeout_s=0.2)
    response = client.call("POST", f"{V1}/create_video/", json={"video_id": video_id, "text": "t"})
    assert response.status_code == 504
    assert len(sandbox.posts(platform="douyin", state="live")) == 1


def test_refresh_token_renewals_are_limited(client, douyin_settings):
    douyin_settings.max_renewals = 1
    url = client.base + "/oauth/renew_refresh_token/"
    first = requests.post(
        url,
        data={"client_key": "k", "refresh_token": client.credentials["refresh_token"]},
        timeout=10,
    ).json()["data"]
    assert first["error_code"] == 0 and first["expires_in"] == 2_592_000
    assert first["refresh_token"] != client.credentials["refresh_token"]
    old = requests.post(
        url,
        data={"client_key": "k", "refresh_token": client.credentials["refresh_token"]},
        timeout=10,
    ).json()["data"]
    assert old["error_code"] == 10010  # the renewed token replaced the old one
    second = requests.post(
        url, data={"client_key": "k", "refresh_token": first["refresh_token"]}, timeout=10
    ).json()["data"]
    assert second["error_code"] == 10020
