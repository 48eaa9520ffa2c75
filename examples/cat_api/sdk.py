"""The Cat API SDK (the tornado_rest_client seed's API), on mysdk's public names only.

One set of declarations serves both clients: the resources are generic over
``mysdk.Mode``, so ``CatClient().cats.get(7)`` returns a ``Cat`` and
``await AsyncCatClient().cats.get(7)`` does too.
"""

from __future__ import annotations

import mysdk


class CatError(mysdk.MySDKError):
    """Root of every error the Cat SDK raises."""


class CatNotFound(mysdk.NotFoundError):
    """No cat has that id."""


class Health(mysdk.Model):
    status: str


class Cat(mysdk.Model):
    id: int
    name: str
    color: str | None = None


class Photo(mysdk.Model):
    id: int
    url: str


class Photos(mysdk.Resource[mysdk.Mode]):
    path = "/cats/{cat_id}/photos"

    @mysdk.get("", page=mysdk.LinkHeader())
    def list(self, *, limit: int = 2, max_items: int | None = None) -> mysdk.Pager[Photo]:
        raise NotImplementedError  # declared: mysdk sends it


class Cats(mysdk.Resource[mysdk.Mode]):
    path = "/cats"
    item = "cat_id"
    # client.cats(7).photos.list(); the annotation carries the mode to the nested resource
    photos: mysdk.ResourceField[Photos[mysdk.Mode]] = mysdk.resource(Photos)

    @mysdk.get("", page=mysdk.PageNumber())
    def list(self, *, per_page: int = 20, max_pages: int | None = None) -> mysdk.Pager[Cat]:
        raise NotImplementedError

    @mysdk.post("", expect=(201,))
    def create(self, *, name: str, color: str | None = None) -> Cat:
        raise NotImplementedError

    @mysdk.get("/random")
    def random(self) -> Cat:
        raise NotImplementedError

    @mysdk.get("/{cat_id}")
    def get(self, cat_id: int) -> Cat:
        raise NotImplementedError


class CatClient(mysdk.Client):
    brand = mysdk.Brand("cat-sdk", "1.0.0", error=CatError)
    error_map = mysdk.ErrorMap(envelope=mysdk.ErrorEnvelope(),
                               by_code={"cat_not_found": CatNotFound})
    cats = mysdk.resource(Cats)

    @mysdk.get("/")
    def health(self) -> Health:
        raise NotImplementedError


class AsyncCatClient(mysdk.AsyncClient):
    brand = CatClient.brand
    error_map = CatClient.error_map
    cats = mysdk.resource(Cats[mysdk.Async])  # await client.cats.get(7)

    @mysdk.get("/")
    def health(self) -> Health:
        raise NotImplementedError
