// imgpro viewer-request function (CloudFront Functions, cloudfront-js-2.0), on both
// behaviors of the media distribution (infra/cdn.py). It turns a viewer URL into the S3 key
// path of the bytes to serve, which is also the whole cache key:
//
//   /<uid>.<ext>                     -> /o/<uid>.<ext>
//   /<uid>.<ext>?size=m              -> /v/<uid>/m.<webp|ext>
//   /private/<uid>.<ext>?size=m&...  -> /private/v/<uid>/m.<webp|ext>
//
// The key layout is imgpro.keys (Python), and the same rules are imgpro.keys.cdn_key_path
// (the local stack's CDN). This file cannot import it: tests/infra/test_key_layout.py
// checks that the constants below and every rewrite agree with it.
//
// Signed URLs: CloudFront picks the behavior from the viewer's path and checks the
// signature of a /private/* URL (trusted key group) on the viewer's URL, query string
// included, before this function runs; the rewrite below never weakens that check. Only
// the canonical spelling of a path passes the pattern, so the path CloudFront matched the
// behavior on is the path mapped here.
//
// Plain ES5 on purpose: no imports, no Node APIs (tests run this file as it is).

var MEDIA_PATH = /^\/(private\/)?([a-z0-9]{12})\.(jpg|png|gif|webp|svg)$/;
var SIZES = ['s', 'm', 'l', 'xl', 'xxl'];
var PRIVATE = 'private/';
var ORIGINALS = 'o/';
var VARIANTS = 'v/';

function handler(event) {
    var request = event.request;
    var match = MEDIA_PATH.exec(request.uri);
    if (!match) {
        return refuse(404, 'Not Found', 'Not found');
    }
    var side = match[1] ? PRIVATE : '';
    var uid = match[2];
    var ext = match[3];

    var size = request.querystring.size;
    var sizeName = null;
    if (size) {
        // A repeated size is as ambiguous as an unknown one.
        if (size.multiValue && size.multiValue.length > 1) {
            return refuse(400, 'Bad Request', 'Give size once: one of s, m, l, xl, xxl');
        }
        if (SIZES.indexOf(size.value) === -1) {
            return refuse(400, 'Bad Request', 'size must be one of s, m, l, xl, xxl');
        }
        sizeName = size.value;
    }

    // SVG is vectors: every size is the original.
    if (sizeName === null || ext === 'svg') {
        request.uri = '/' + side + ORIGINALS + uid + '.' + ext;
    } else {
        var format = acceptsWebp(request.headers) ? 'webp' : ext;
        request.uri = '/' + side + VARIANTS + uid + '/' + sizeName + '.' + format;
    }
    // Size and format now live in the path. Nothing else of the query (signature
    // parameters, cache busters) reaches the origin or splits the cache.
    request.querystring = {};
    return request;
}

// True when an Accept header names image/webp with a non-zero quality.
function acceptsWebp(headers) {
    var accept = headers.accept;
    if (!accept) {
        return false;
    }
    var values = accept.multiValue
        ? accept.multiValue.map(function (item) { return item.value; })
        : [accept.value];
    for (var i = 0; i < values.length; i++) {
        var ranges = String(values[i]).split(',');
        for (var j = 0; j < ranges.length; j++) {
            var parts = ranges[j].split(';');
            if (parts[0].trim().toLowerCase() !== 'image/webp') {
                continue;
            }
            var quality = 1;
            for (var k = 1; k < parts.length; k++) {
                var parameter = parts[k].trim().toLowerCase();
                if (parameter.indexOf('q=') === 0) {
                    quality = parseFloat(parameter.slice(2));
                }
            }
            if (quality > 0) {
                return true;
            }
        }
    }
    return false;
}

// A response made here, never cached by CloudFront; the same text the local stack's CDN
// answers (imgpro.delivery).
function refuse(statusCode, statusDescription, message) {
    return {
        statusCode: statusCode,
        statusDescription: statusDescription,
        headers: {
            'content-type': { value: 'text/plain; charset=utf-8' },
        },
        body: { encoding: 'text', data: message + '\n' },
    };
}
