<#
.SYNOPSIS
  Build the Windows one-folder app: dist\povdesk\ (povdesk-app.exe, povdesk.exe, _internal\) and
  dist\povdesk-<version>-windows-x64.zip.

.DESCRIPTION
  Needs 64-bit Python 3.11+ from python.org (the "py" launcher) on a Windows 10 or 11 build
  machine. Creates build\venv-windows once, installs povdesk and PyInstaller into it, runs
  PyInstaller with packaging\povdesk.spec, zips the folder, checks that povdesk.exe --version
  runs, and prints the build time and the sizes. The last line is the path of the zip.

  powershell -ExecutionPolicy Bypass -File packaging\build_windows.ps1
  powershell -ExecutionPolicy Bypass -File packaging\build_windows.ps1 -Python .venv\Scripts\python.exe

.PARAMETER Python
  A python.exe that already has povdesk's dependencies and PyInstaller; no build venv is made.

.PARAMETER PyVersion
  The Python the build venv is made with, through the py launcher (default 3.11).
#>
param(
    [string]$Python = "",
    [string]$PyVersion = "3.11",
    [string]$Dist = "",
    [string]$Work = ""
)
$ErrorActionPreference = "Stop"
Set-StrictMode -Version Latest

$Root = Split-Path -Parent $PSScriptRoot
Set-Location $Root
if (-not $Dist) { $Dist = Join-Path $Root "dist" }
if (-not $Work) { $Work = Join-Path $Root "build\pyinstaller" }

# Native commands do not stop the script on failure by themselves (Windows PowerShell 5.1), and
# redirecting their stderr there turns every line into an error: nothing below redirects it.
function Invoke-Checked {
    param([string]$Exe, [string[]]$Arguments)
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "failed ($LASTEXITCODE): $Exe $($Arguments -join ' ')" }
}

$HasPyInstaller = "import importlib.util, sys; sys.exit(importlib.util.find_spec('PyInstaller') is None)"

if (-not $Python) {
    $Venv = Join-Path $Root "build\venv-windows"
    $Python = Join-Path $Venv "Scripts\python.exe"
    if (-not (Test-Path $Python)) {
        Write-Host "== creating the build venv $Venv"
        Invoke-Checked "py" @("-$PyVersion", "-m", "venv", $Venv)
        Invoke-Checked $Python @("-m", "pip", "install", "-q", "--upgrade", "pip")
    }
    Write-Host "== installing povdesk and PyInstaller into the build venv"
    # '.[build]' carries PyInstaller once pyproject.toml has the build extra; until then PyInstaller
    # is installed on its own.
    Invoke-Checked $Python @("-m", "pip", "install", "-q", ".[build]")
    & $Python -c $HasPyInstaller
    if ($LASTEXITCODE -ne 0) { Invoke-Checked $Python @("-m", "pip", "install", "-q", "pyinstaller>=6.5,<7") }
}
& $Python -c $HasPyInstaller
if ($LASTEXITCODE -ne 0) { throw "PyInstaller is not installed for $Python" }

$Version = (& $Python -c "import tomllib; print(tomllib.load(open('pyproject.toml', 'rb'))['project']['version'])").Trim()
$Zip = Join-Path $Dist "povdesk-$Version-windows-x64.zip"
Write-Host "== povdesk $Version"

$clock = [Diagnostics.Stopwatch]::StartNew()
Invoke-Checked $Python @("-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
    "--distpath", $Dist, "--workpath", $Work, "packaging\povdesk.spec")
$buildSeconds = $clock.Elapsed.TotalSeconds

$Folder = Join-Path $Dist "povdesk"
if (Test-Path $Zip) { Remove-Item $Zip }
# The zip holds the povdesk folder itself, so unpacking gives povdesk\povdesk-app.exe.
Compress-Archive -Path $Folder -DestinationPath $Zip -CompressionLevel Optimal
$zipSeconds = $clock.Elapsed.TotalSeconds - $buildSeconds

$said = (& (Join-Path $Folder "povdesk.exe") --version | Out-String).Trim()
if ($LASTEXITCODE -ne 0 -or $said -ne "povdesk $Version") { throw "povdesk.exe --version said '$said'" }

$folderMB = (Get-ChildItem $Folder -Recurse -File | Measure-Object Length -Sum).Sum / 1MB
$zipMB = (Get-Item $Zip).Length / 1MB
Write-Host ("== build {0:N1} s, zip {1:N1} s" -f $buildSeconds, $zipSeconds)
Write-Host ("== folder  {0:N0} MB  {1}" -f $folderMB, $Folder)
Write-Host ("== archive {0:N0} MB  {1}" -f $zipMB, $Zip)
Write-Output $Zip
