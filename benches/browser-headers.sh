# What a browser sends besides Host and Authorization (14 headers, ≈ 900 bytes): the
# BROWSER_HEADERS=1 variant of load.sh's and callgrind.sh's plugin targets. Sourced.
# shellcheck disable=SC2034 # used by the scripts that source it
BROWSER=(
    -H "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    -H "Accept-Language: en-GB,en;q=0.9,fr;q=0.8"
    -H "Accept-Encoding: gzip, deflate, br, zstd"
    -H "Cookie: session=4f2a9c1e7b3d8a6f; theme=dark; consent=analytics%3Dfalse%26ads%3Dfalse; _ga=GA1.2.1234567890.1700000000"
    -H "Referer: https://shop.example.com/lists/weekly?sort=recent"
    -H 'Sec-Ch-Ua: "Chromium";v="130", "Not?A_Brand";v="99"'
    -H "Sec-Ch-Ua-Mobile: ?0"
    -H 'Sec-Ch-Ua-Platform: "Linux"'
    -H "Sec-Fetch-Dest: empty"
    -H "Sec-Fetch-Mode: cors"
    -H "Sec-Fetch-Site: same-site"
    -H "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36"
    -H "X-Forwarded-For: 198.51.100.23"
    -H "Traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
)
