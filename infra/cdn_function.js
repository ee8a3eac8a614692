// imgpro viewer functions (CloudFront Functions, cloudfront-js-2.0), on both behaviors of
// the media distribution (infra/cdn.py); this one file is deployed twice, once per event.
//
// Viewer request: turns a viewer URL into the S3 key path of the bytes to serve, which is
// also the whole cache key:
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
// behavior on is the path mapped here. A custom policy (`Policy=`) must also name exactly
// this item, `<scheme>://<host>/private/<uid>.<ext>*` (imgpro.signing): its wildcard would
// match a longer path too, so whatever CloudFront normalizes, it opens this item only.
//
// The viewer's own path and query go to the origin in x-imgpro-viewer-url: the resize
// function redirects a variant too big for a Lambda response back to it (imgpro.delivery).
//
// Viewer response: `Vary: Accept` on what a variant URL answers, whose format follows
// Accept (originals and SVG do not vary). CloudFront drops a Vary the origin sends for a
// header it does not forward, so it is added here.
//
// Plain ES5 on purpose: no imports, no Node APIs (tests run this file as it is).

var MEDIA_PATH = /^\/(private\/)?([a-z0-9]{12})\.(jpg|png|gif|webp|svg)$/;
var SIZES = ['s', 'm', 'l', 'xl', 'xxl'];
var PRIVATE = 'private/';
var ORIGINALS = 'o/';
var VARIANTS = 'v/';
var VIEWER_URL_HEADER = 'x-imgpro-viewer-url';
var BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function handler(event) {
    if (event.context && event.context.eventType === 'viewer-response') {
        return viewerResponse(event);
    }
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

    var policy = request.querystring.Policy;
    if (side && policy && !policyNames(policy, request.uri)) {
        return refuse(403, 'Forbidden', 'Missing or invalid signature');
    }
    var query = viewerQuery(request.querystring);
    request.headers[VIEWER_URL_HEADER] = { value: request.uri + (query ? '?' + query : '') };

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

// True when a custom policy (already verified by CloudFront) has this path, then `*`, as
// its resource: the form imgpro.signing issues, and no other.
function policyNames(policy, uri) {
    if (policy.multiValue && policy.multiValue.length > 1) {
        return false;
    }
    var statement;
    try {
        statement = JSON.parse(fromCloudFrontBase64(policy.value)).Statement[0];
    } catch (e) {
        return false;
    }
    var resource = statement && statement.Resource;
    if (typeof resource !== 'string') {
        return false;
    }
    var path = /^https?:\/\/[^\/]+(\/.*)$/.exec(resource);
    return path !== null && path[1] === uri + '*';
}

// Base64 with CloudFront's URL-safe substitutions ('-' for '+', '_' for '=', '~' for
// '/') to a string of bytes; throws on any other character.
function fromCloudFrontBase64(text) {
    var out = '';
    var buffer = 0;
    var bits = 0;
    for (var i = 0; i < text.length; i++) {
        var c = text.charAt(i);
        if (c === '_') {
            break;
        }
        var value = BASE64.indexOf(c === '-' ? '+' : c === '~' ? '/' : c);
        if (value === -1 || c === '+' || c === '/') {
            throw new Error('not CloudFront base64');
        }
        buffer = ((buffer << 6) | value) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += String.fromCharCode((buffer >> bits) & 0xff);
        }
    }
    return out;
}

// The query string as the viewer sent it (names and values as CloudFront passes them,
// in their order; a repeated name's values together).
function viewerQuery(querystring) {
    var pieces = [];
    for (var name in querystring) {
        var entry = querystring[name];
        var values = entry.multiValue ? entry.multiValue : [entry];
        for (var i = 0; i < values.length; i++) {
            pieces.push(name + '=' + values[i].value);
        }
    }
    return pieces.join('&');
}

function viewerResponse(event) {
    var response = event.response;
    if (response.statusCode < 400 && isVariantRequest(event.request)) {
        response.headers.vary = { value: 'Accept' };
    }
    return response;
}

// A variant request, as the viewer sent it or as the viewer-request function rewrote it
// (SVG with a size is rewritten to its original: no variant).
function isVariantRequest(request) {
    if (request.uri.indexOf('/' + VARIANTS) === 0 || request.uri.indexOf('/' + PRIVATE + VARIANTS) === 0) {
        return true;
    }
    var match = MEDIA_PATH.exec(request.uri);
    return match !== null && match[3] !== 'svg' && !!(request.querystring && request.querystring.size);
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
