; Inno Setup script: a per-user installer for Nexus on Windows (no administrator rights).
; Build on Windows after build\build.sh's equivalent:
;   py -m venv .venv && .venv\Scripts\pip install -e ".[build]" pywebview
;   .venv\Scripts\python -m PyInstaller build\nexus.spec --noconfirm --distpath build\dist --workpath build\work
;   "C:\Program Files (x86)\Inno Setup 6\ISCC.exe" installer\windows\nexus.iss
; Result: build\dist\nexus-<version>-windows-setup.exe. The window uses Edge WebView2, which
; Windows 10/11 already have.

#define AppVersion "0.1.0"

[Setup]
AppId={{6F1E2C3A-3B7D-4C1E-9A57-2E0C9D4B8F11}
AppName=Nexus
AppVersion={#AppVersion}
AppPublisher=Nexus
DefaultDirName={localappdata}\Programs\Nexus
DefaultGroupName=Nexus
PrivilegesRequired=lowest
OutputDir=..\..\build\dist
OutputBaseFilename=nexus-{#AppVersion}-windows-setup
SetupIconFile=..\..\build\nexus.ico
UninstallDisplayIcon={app}\nexus.exe
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
ArchitecturesInstallIn64BitMode=x64compatible

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; Flags: unchecked

[Files]
Source: "..\..\build\dist\nexus\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Nexus"; Filename: "{app}\nexus.exe"
Name: "{userdesktop}\Nexus"; Filename: "{app}\nexus.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\nexus.exe"; Description: "Start Nexus"; Flags: nowait postinstall skipifsilent

; Uninstalling keeps the data dir (%LOCALAPPDATA%\nexus): transcripts and settings are the user's.
