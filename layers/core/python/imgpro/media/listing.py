"""Listing a team's media, newest first: all of it, or by tags (any or all of them).

Tag filters read the tag-link partitions of gsi1 (see `imgpro.models`); `tag_mode=all`
examines a bounded number of links per request and resumes by cursor.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator, Sequence

from imgpro.media import store
from imgpro.media.records import Page
from imgpro.models import MediaItem, TagLink, tag_partition, team_pk
from imgpro.pagination import cursor_from_sort_key
from imgpro.validation import TagFilterMode, tag_key

MAX_LINKS_EXAMINED = 1000


def list_media(
    team_id: str,
    *,
    limit: int,
    before: str | None = None,
    offset: int = 0,
    tags: Sequence[str] = (),
    tag_mode: TagFilterMode = "any",
) -> Page:
    """The team's media, newest first.

    `before` is the gsi1sk bound decoded from a cursor (exclusive); `offset` skips
    items for legacy pagination. Reads limit+1 items to know whether more exist.
    """
    wanted = offset + limit + 1
    scan: _BoundedScan | None = None
    if tags and tag_mode == "all":
        scan = _BoundedScan(_tag_links(team_id, tags[0], before=before, page_size=200))
        required = store.tag_keys(tags)
        candidates = _resolve(
            iter(scan), team_id, keep=lambda item: required <= store.tag_keys(item.tags or ())
        )
    elif tags:
        candidates = _tagged_any(team_id, tags, before=before, page_size=min(max(wanted, 10), 200))
    else:
        candidates = _team_items(team_id, before=before, page_size=min(wanted, 200))
    window = list(itertools.islice(candidates, offset, wanted))
    items = [store.to_media(item) for item in window[:limit]]
    if len(window) > limit:
        return Page(items=items, has_more=True, next_cursor=items[-1].cursor)
    if scan is not None and scan.stopped_at is not None:
        # A short page: the scan hit its bound before finding a full page. The cursor
        # resumes below the last link examined, so nothing is skipped or repeated.
        return Page(items=items, has_more=True, next_cursor=cursor_from_sort_key(scan.stopped_at))
    return Page(items=items, has_more=False)


class _BoundedScan:
    """Tag links of one partition, examined at most `limit` per request.

    `tag_mode=all` filters in code, so a common first tag with a rare match would
    otherwise read a whole partition in one request.
    """

    def __init__(self, links: Iterator[TagLink]) -> None:
        self._links = links
        self._limit = MAX_LINKS_EXAMINED
        self.stopped_at: str | None = None

    def __iter__(self) -> Iterator[TagLink]:
        for examined, link in enumerate(self._links, start=1):
            yield link
            if examined >= self._limit:
                self.stopped_at = link.gsi1sk
                return


def _team_items(team_id: str, *, before: str | None, page_size: int) -> Iterator[MediaItem]:
    return MediaItem.by_team.query(
        team_pk(team_id),
        range_key_condition=MediaItem.gsi1sk < before if before else None,
        filter_condition=store.live_filter(MediaItem),
        scan_index_forward=False,
        page_size=page_size,
    )


def _tag_links(team_id: str, tag: str, *, before: str | None, page_size: int) -> Iterator[TagLink]:
    return TagLink.by_tag.query(
        tag_partition(team_id, tag_key(tag)),
        range_key_condition=TagLink.gsi1sk < before if before else None,
        filter_condition=store.live_filter(TagLink),
        scan_index_forward=False,
        page_size=page_size,
    )


def _tagged_any(
    team_id: str, tags: Sequence[str], *, before: str | None, page_size: int
) -> Iterator[MediaItem]:
    """Media carrying any of `tags`, newest first: the tag partitions are each sorted by
    gsi1sk, so a lazy merge of them, without repeats, is sorted too."""
    streams = [_tag_links(team_id, tag, before=before, page_size=page_size) for tag in tags]
    merged = heapq.merge(*streams, key=lambda link: link.gsi1sk, reverse=True)
    return _resolve(_first_of_each(merged), team_id, keep=None)


def _first_of_each(links: Iterator[TagLink]) -> Iterator[TagLink]:
    """One link per media: a media tagged with two of the wanted tags comes up twice."""
    last: str | None = None
    for link in links:
        if link.gsi1sk != last:
            last = link.gsi1sk
            yield link


def _resolve(
    links: Iterator[TagLink], team_id: str, *, keep: Callable[[MediaItem], bool] | None
) -> Iterator[MediaItem]:
    """Fetch the media items behind tag links, in link order, a batch at a time."""
    while True:
        chunk = list(itertools.islice(links, 25))
        if not chunk:
            return
        found = store.load_many_owned([link.uid for link in chunk], team_id)
        for link in chunk:
            item = found.get(link.uid)
            if item is not None and (keep is None or keep(item)):
                yield item
