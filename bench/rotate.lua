-- wrk script: each request takes the next line of a file, `PATH` or `PATH<TAB>Name: value...`
-- (headers of that request, added to wrk's -H ones). Each thread starts at its own place in
-- the file and wraps around at its end, so with enough lines no path is asked for twice.
-- Usage: wrk ... -s rotate.lua http://127.0.0.1:PORT -- LINES_FILE
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  paths, headers = {}, {}
  for line in io.lines(args[1]) do
    local fields = {}
    for field in string.gmatch(line, "[^\t]+") do
      fields[#fields + 1] = field
    end
    local extra = {}
    for i = 2, #fields do
      local name, value = string.match(fields[i], "^([^:]+):%s*(.*)$")
      extra[name] = value
    end
    paths[#paths + 1] = fields[1]
    headers[#headers + 1] = extra
  end
  local threads = tonumber(args[2] or "2")
  position = (tid or 0) * math.floor(#paths / threads)
end

function request()
  position = position + 1
  if position > #paths then
    position = 1
  end
  local extra = headers[position]
  if next(extra) == nil then
    return wrk.format(nil, paths[position])
  end
  local merged = {}
  for name, value in pairs(wrk.headers) do
    merged[name] = value
  end
  for name, value in pairs(extra) do
    merged[name] = value
  end
  return wrk.format(nil, paths[position], merged)
end
