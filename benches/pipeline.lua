-- wrk script: HTTP/1.1 pipelining. Each request() sends DEPTH requests back
-- to back in one write; wrk counts every response.
--   wrk -t1 -c64 -d10s -s benches/pipeline.lua http://127.0.0.1:8080 -- 16 /plaintext
-- Arguments after "--": depth (default 16) and path (default /plaintext).

init = function(args)
   local depth = tonumber(args[1]) or 16
   local path = args[2] or "/plaintext"
   local r = {}
   for i = 1, depth do
      r[i] = wrk.format(nil, path)
   end
   req = table.concat(r)
end

request = function()
   return req
end
